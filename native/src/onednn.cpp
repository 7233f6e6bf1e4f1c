/*
 * Convolutions on oneDNN (onednn.h). Activations stay NHWC, where tfjs keeps them: oneDNN's
 * AVX-512/AVX2 JIT kernels read and write that layout directly, so no activation is reordered.
 * Filters are small; each primitive picks its own filter layout (format `any`, usually blocked)
 * and the filter is reordered into it, or the filter gradient out of it, on every call.
 *
 * Primitives are built once per shape, kind and thread count, per calling thread (Node's worker
 * threads each run their own), and kept in a map bounded by MAX_PRIMITIVES.
 */
#include "onednn.h"

#include <omp.h>

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

/* oneDNN 3 dropped the operation descriptors these primitives are built from. */
#if DNNL_VERSION_MAJOR != 2
#error "otoc's oneDNN kernels need oneDNN 2.x (Debian 12's libdnnl-dev is 2.6.3, the version PyTorch 1.13 uses)"
#endif
#include <string>
#include <unordered_map>

namespace {

using dnnl::memory;
using tag = memory::format_tag;

constexpr size_t MAX_PRIMITIVES = 256;

dnnl::engine &cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Descs {
  memory::desc src, dst, weights_any, weights_user;
  memory::dims strides, dilates, pad_l, pad_r;
};

Descs descs_of(const Window &c) {
  const long g = c.groups;
  const bool grouped = g > 1;
  const memory::dims weights = grouped ? memory::dims{g, c.out_channels / g, c.in_channels / g, c.filter_height, c.filter_width}
                                       : memory::dims{c.out_channels, c.in_channels, c.filter_height, c.filter_width};
  const auto f32 = memory::data_type::f32;
  return {
      memory::desc({c.batch, c.in_channels, c.in_height, c.in_width}, f32, tag::nhwc),
      memory::desc({c.batch, c.out_channels, c.out_height, c.out_width}, f32, tag::nhwc),
      memory::desc(weights, f32, tag::any),
      memory::desc(weights, f32, grouped ? tag::hwigo : tag::hwio),
      {c.stride_height, c.stride_width},
      {c.dilation_height - 1, c.dilation_width - 1},
      {c.pad_top, c.pad_left},
      {c.pad_bottom, c.pad_right},
  };
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs &d) {
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                       d.weights_any, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, cpu_engine()};
}

/*
 * A primitive ready to run: the activations' memories get the caller's pointers; the filter
 * (or filter gradient) is reordered between the caller's layout and the primitive's through
 * `weights` when the two differ.
 */
struct Prepared {
  dnnl::primitive conv;
  int kind;
  memory a, b, out;
  /** The filter in the primitive's layout, and the reorder that fills it or empties it; none when equal. */
  memory weights;
  dnnl::reorder weights_reorder;
  bool reorders = false;
};

void bind(Prepared &p, const memory::desc &a, const memory::desc &b, const memory::desc &out) {
  p.a = memory(a, cpu_engine(), nullptr);
  p.b = memory(b, cpu_engine(), nullptr);
  p.out = memory(out, cpu_engine(), nullptr);
}

void set_weights(Prepared &p, const memory::desc &primitive_md, const memory::desc &user_md, memory &user, bool into_primitive) {
  if (primitive_md == user_md) return;
  p.reorders = true;
  p.weights = memory(primitive_md, cpu_engine());
  p.weights_reorder = into_primitive ? dnnl::reorder(user, p.weights) : dnnl::reorder(p.weights, user);
}

Prepared prepare(const Window &c, OnednnConvKind kind) {
  const Descs d = descs_of(c);
  auto &engine = cpu_engine();
  Prepared p;
  p.kind = kind;
  auto fwd = forward_pd(d);
  if (kind == ONEDNN_CONV_FORWARD) {
    p.conv = dnnl::convolution_forward(fwd);
    bind(p, d.src, d.weights_user, d.dst);
    set_weights(p, fwd.weights_desc(), d.weights_user, p.b, true);
  } else if (kind == ONEDNN_CONV_BACKWARD_DATA) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.dst, d.strides,
                                               d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, engine, fwd);
    p.conv = dnnl::convolution_backward_data(pd);
    bind(p, d.dst, d.weights_user, d.src);
    set_weights(p, pd.weights_desc(), d.weights_user, p.b, true);
  } else {
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any, d.dst,
                                                  d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, engine, fwd);
    p.conv = dnnl::convolution_backward_weights(pd);
    bind(p, d.src, d.dst, d.weights_user);
    set_weights(p, pd.diff_weights_desc(), d.weights_user, p.out, false);
  }
  return p;
}

void run(Prepared &p, dnnl::stream &stream, const float *a, const float *b, float *out) {
  p.a.set_data_handle(const_cast<float *>(a));
  p.b.set_data_handle(const_cast<float *>(b));
  p.out.set_data_handle(out);
  if (p.kind == ONEDNN_CONV_FORWARD) {
    if (p.reorders) p.weights_reorder.execute(stream, p.b, p.weights);
    p.conv.execute(stream, {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.reorders ? p.weights : p.b}, {DNNL_ARG_DST, p.out}});
  } else if (p.kind == ONEDNN_CONV_BACKWARD_DATA) {
    if (p.reorders) p.weights_reorder.execute(stream, p.b, p.weights);
    p.conv.execute(stream, {{DNNL_ARG_DIFF_DST, p.a}, {DNNL_ARG_WEIGHTS, p.reorders ? p.weights : p.b}, {DNNL_ARG_DIFF_SRC, p.out}});
  } else {
    p.conv.execute(stream, {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_DIFF_DST, p.b}, {DNNL_ARG_DIFF_WEIGHTS, p.reorders ? p.weights : p.out}});
    if (p.reorders) p.weights_reorder.execute(stream, p.weights, p.out);
  }
  stream.wait();
}

/* What a primitive depends on: the convolution, its kind, and the thread count it was balanced for. */
std::string key_of(const Window &c, OnednnConvKind kind) {
  std::string key(sizeof c + 2 * sizeof(int), '\0');
  const int extra[2] = {kind, omp_get_max_threads()};
  std::memcpy(&key[0], &c, sizeof c);
  std::memcpy(&key[sizeof c], extra, sizeof extra);
  return key;
}

struct ThreadState {
  dnnl::stream stream{cpu_engine()};
  std::unordered_map<std::string, Prepared> primitives;
  std::string error;
};

ThreadState &state() {
  static thread_local ThreadState s;
  return s;
}

}  // namespace

extern "C" {

void onednn_conv_sizes(const Window *c, OnednnConvKind kind, size_t sizes[3]) {
  const size_t x = (size_t)(c->batch * c->in_height * c->in_width * c->in_channels);
  const size_t y = (size_t)(c->batch * c->out_height * c->out_width * c->out_channels);
  const size_t w = (size_t)(c->filter_height * c->filter_width * (c->in_channels / c->groups) * c->out_channels);
  const size_t by_kind[3][3] = {{x, w, y}, {y, w, x}, {x, y, w}};
  std::memcpy(sizes, by_kind[kind], sizeof by_kind[kind]);
}

const char *onednn_conv(const Window *conv, OnednnConvKind kind, const float *a, const float *b, float *out) {
  ThreadState &s = state();
  try {
    const std::string key = key_of(*conv, kind);
    auto found = s.primitives.find(key);
    if (found == s.primitives.end()) {
      if (s.primitives.size() >= MAX_PRIMITIVES) s.primitives.clear();
      found = s.primitives.emplace(key, prepare(*conv, kind)).first;
    }
    run(found->second, s.stream, a, b, out);
    return nullptr;
  } catch (const dnnl::error &e) {
    s.error = std::string("oneDNN: ") + e.what();
  } catch (const std::exception &e) {
    s.error = e.what();
  }
  return s.error.c_str();
}

void onednn_set_threads(int threads) { omp_set_num_threads(threads); }

int onednn_threads(void) { return omp_get_max_threads(); }

const char *onednn_version(void) {
  static const std::string version = [] {
    const dnnl_version_t *v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }();
  return version.c_str();
}

}
