/*
 * Node-API bindings of the batch-norm and activation kernels, and of the oneDNN convolutions when
 * built with them (OTOC_ONEDNN: exports.onednn). Every array is a Float32Array (in otoc, views of
 * the tfjs wasm heap, so results are written where tfjs reads them); shapes are checked here.
 */
#include <node_api.h>
#include <stddef.h>
#include <stdio.h>

#include "activation.h"
#include "batchnorm.h"
#include "pooling.h"
#ifdef OTOC_ONEDNN
#include "onednn.h"
#endif

#define MAX_ARGS 10

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
} Call;

static int read_call(napi_env env, napi_callback_info info, size_t expected, Call *call) {
  call->env = env;
  call->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &call->argc, call->argv, NULL, NULL) != napi_ok) return 0;
  if (call->argc != expected) {
    napi_throw_type_error(env, NULL, "wrong number of arguments");
    return 0;
  }
  return 1;
}

/* The data of argument i, a typed array of `expected` type, with its element count in *length; NULL (with a pending error) otherwise. */
static void *typed_array(Call *call, size_t i, napi_typedarray_type expected, const char *name, size_t *length) {
  napi_typedarray_type type;
  void *data;
  bool is_typed = false;
  napi_is_typedarray(call->env, call->argv[i], &is_typed);
  if (!is_typed || napi_get_typedarray_info(call->env, call->argv[i], &type, length, &data, NULL, NULL) != napi_ok ||
      type != expected) {
    char message[64];
    snprintf(message, sizeof message, "expected a %s", name);
    napi_throw_type_error(call->env, NULL, message);
    return NULL;
  }
  return data;
}

/* The float32 data of argument i, with its element count in *length; NULL (with a pending error) otherwise. */
static float *floats(Call *call, size_t i, size_t *length) { return typed_array(call, i, napi_float32_array, "Float32Array", length); }

/* Argument i as a number; NaN with a pending error when it is not one. */
static double number(Call *call, size_t i) {
  double value;
  if (napi_get_value_double(call->env, call->argv[i], &value) != napi_ok) {
    napi_throw_type_error(call->env, NULL, "expected a number");
    return 0.0 / 0.0;
  }
  return value;
}

/* Float32Array argument i of exactly `length` elements; NULL (with a pending error) otherwise. */
static float *floats_of(Call *call, size_t i, size_t length) {
  size_t actual;
  float *data = floats(call, i, &actual);
  if (data && actual != length) {
    napi_throw_range_error(call->env, NULL, "array length does not match the data's shape");
    return NULL;
  }
  return data;
}

/* The float64 data of argument i, with its element count in *length; NULL (with a pending error) otherwise. */
static double *float64s(Call *call, size_t i, size_t *length) { return typed_array(call, i, napi_float64_array, "Float64Array", length); }

/* Argument i, a Float64Array of the WINDOW_FIELDS values, as a Window; 0 with a pending error otherwise. */
static int read_window(Call *call, size_t i, Window *window) {
  size_t length;
  const double *values = float64s(call, i, &length);
  if (!values) return 0;
  if (length != WINDOW_FIELDS) {
    napi_throw_range_error(call->env, NULL, "expected the window's 18 numbers");
    return 0;
  }
  long fields[WINDOW_FIELDS];
  for (size_t f = 0; f < WINDOW_FIELDS; f++) {
    const int is_pad = f >= WINDOW_FIRST_PAD && f < WINDOW_FIRST_PAD + WINDOW_PADS;
    if (!(values[f] >= (is_pad ? 0 : 1) && values[f] < 1 << 30) || (double)(long)values[f] != values[f]) {
      napi_throw_range_error(call->env, NULL, "window sizes must be whole numbers below 2^30, positive except the pads");
      return 0;
    }
    fields[f] = (long)values[f];
  }
  Window w = {fields[0],  fields[1],  fields[2],  fields[3],  fields[4],  fields[5],  fields[6],  fields[7],  fields[8],
              fields[9],  fields[10], fields[11], fields[12], fields[13], fields[14], fields[15], fields[16], fields[17]};
  *window = w;
  return 1;
}

/* The channel count (argument i) and the row count of data of `length` elements; 0 on error. */
static size_t channel_count(Call *call, size_t i, size_t length, size_t *rows) {
  double c = number(call, i);
  if (!(c >= 1) || (double)(size_t)c != c || length % (size_t)c != 0) {
    napi_throw_range_error(call->env, NULL, "the channel count must be a positive integer dividing the data's length");
    return 0;
  }
  *rows = length / (size_t)c;
  return (size_t)c;
}

static napi_value done(Call *call, int ok) {
  if (!ok) napi_throw_error(call->env, NULL, "out of memory");
  return NULL;
}

/* moments(x, channels, mean, variance) */
static napi_value moments(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *x, *mean, *variance;
  if (!read_call(env, info, 4, &call) || !(x = floats(&call, 0, &length)) ||
      !(channels = channel_count(&call, 1, length, &rows)) || !(mean = floats_of(&call, 2, channels)) ||
      !(variance = floats_of(&call, 3, channels)))
    return NULL;
  return done(&call, bn_moments(x, rows, channels, mean, variance));
}

/* apply(x, channels, mean, variance, gamma, beta, eps, y) */
static napi_value apply(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *x, *mean, *variance, *gamma, *beta, *y;
  if (!read_call(env, info, 8, &call) || !(x = floats(&call, 0, &length)) ||
      !(channels = channel_count(&call, 1, length, &rows)) || !(mean = floats_of(&call, 2, channels)) ||
      !(variance = floats_of(&call, 3, channels)) || !(gamma = floats_of(&call, 4, channels)) ||
      !(beta = floats_of(&call, 5, channels)) || !(y = floats_of(&call, 7, length)))
    return NULL;
  double eps = number(&call, 6);
  if (eps != eps) return NULL;
  return done(&call, bn_apply(x, rows, channels, mean, variance, gamma, beta, (float)eps, y));
}

/* gradient(dy, x, channels, mean, variance, gamma, eps, dx, dgamma, dbeta) */
static napi_value gradient(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *dy, *x, *mean, *variance, *gamma, *dx, *dgamma, *dbeta;
  if (!read_call(env, info, 10, &call) || !(dy = floats(&call, 0, &length)) || !(x = floats_of(&call, 1, length)) ||
      !(channels = channel_count(&call, 2, length, &rows)) || !(mean = floats_of(&call, 3, channels)) ||
      !(variance = floats_of(&call, 4, channels)) || !(gamma = floats_of(&call, 5, channels)) ||
      !(dx = floats_of(&call, 7, length)) || !(dgamma = floats_of(&call, 8, channels)) ||
      !(dbeta = floats_of(&call, 9, channels)))
    return NULL;
  double eps = number(&call, 6);
  if (eps != eps) return NULL;
  return done(&call, bn_gradient(dy, x, rows, channels, mean, variance, gamma, (float)eps, dx, dgamma, dbeta));
}

/* reluGradient(dy, y, dx) */
static napi_value relu_gradient_of(napi_env env, napi_callback_info info) {
  Call call;
  size_t length;
  float *dy, *y, *dx;
  if (!read_call(env, info, 3, &call) || !(dy = floats(&call, 0, &length)) || !(y = floats_of(&call, 1, length)) ||
      !(dx = floats_of(&call, 2, length)))
    return NULL;
  relu_gradient(dy, y, length, dx);
  return NULL;
}

/* maxPoolGradient(x, dy, dx, window): window a Float64Array of the Window fields in order. */
static napi_value max_pool_gradient_of(napi_env env, napi_callback_info info) {
  Call call;
  Window pool;
  if (!read_call(env, info, 4, &call) || !read_window(&call, 3, &pool)) return NULL;
  const size_t in = (size_t)(pool.batch * pool.in_height * pool.in_width * pool.in_channels);
  const size_t out = (size_t)(pool.batch * pool.out_height * pool.out_width * pool.in_channels);
  const float *x, *dy;
  float *dx;
  if (!(x = floats_of(&call, 0, in)) || !(dy = floats_of(&call, 1, out)) || !(dx = floats_of(&call, 2, in))) return NULL;
  return done(&call, max_pool_gradient(x, dy, dx, &pool));
}

#ifdef OTOC_ONEDNN
/* Argument i as a positive integer; 0 with a pending error otherwise. */
static long positive_integer(Call *call, size_t i) {
  double v = number(call, i);
  if (v != v) return 0;
  if (!(v >= 1 && v <= 1 << 30) || (double)(long)v != v) {
    napi_throw_range_error(call->env, NULL, "expected a positive integer");
    return 0;
  }
  return (long)v;
}

/* conv(kind, window, a, b, out): window a Float64Array of the Window fields in order. */
static napi_value onednn_conv_of(napi_env env, napi_callback_info info) {
  Call call;
  Window conv;
  if (!read_call(env, info, 5, &call)) return NULL;
  double kind = number(&call, 0);
  if (kind != kind || !read_window(&call, 1, &conv)) return NULL;
  if (kind != ONEDNN_CONV_FORWARD && kind != ONEDNN_CONV_BACKWARD_DATA && kind != ONEDNN_CONV_BACKWARD_WEIGHTS) {
    napi_throw_range_error(env, NULL, "unknown convolution kind");
    return NULL;
  }
  if (conv.in_channels % conv.groups || conv.out_channels % conv.groups) {
    napi_throw_range_error(env, NULL, "the groups must divide the input and output channels");
    return NULL;
  }
  size_t sizes[3];
  onednn_conv_sizes(&conv, (OnednnConvKind)kind, sizes);
  const float *a, *b;
  float *out;
  if (!(a = floats_of(&call, 2, sizes[0])) || !(b = floats_of(&call, 3, sizes[1])) || !(out = floats_of(&call, 4, sizes[2])))
    return NULL;
  const char *error = onednn_conv(&conv, (OnednnConvKind)kind, a, b, out);
  if (error) napi_throw_error(env, NULL, error);
  return NULL;
}

/* setThreads(n): oneDNN's (OpenMP) threads for the calling thread's later kernels. */
static napi_value onednn_set_threads_of(napi_env env, napi_callback_info info) {
  Call call;
  if (!read_call(env, info, 1, &call)) return NULL;
  long threads = positive_integer(&call, 0);
  if (threads) onednn_set_threads((int)threads);
  return NULL;
}

static napi_value onednn_threads_of(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  napi_create_int32(env, onednn_threads(), &result);
  return result;
}

/* exports.onednn: { version, conv, setThreads, threads }. */
static void define_onednn(napi_env env, napi_value exports) {
  napi_value onednn, version;
  napi_create_object(env, &onednn);
  napi_create_string_utf8(env, onednn_version(), NAPI_AUTO_LENGTH, &version);
  napi_property_descriptor properties[] = {
      {"version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
      {"conv", NULL, onednn_conv_of, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, onednn_set_threads_of, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threads", NULL, onednn_threads_of, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, onednn, sizeof(properties) / sizeof(properties[0]), properties);
  napi_set_named_property(env, exports, "onednn", onednn);
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"moments", NULL, moments, NULL, NULL, NULL, napi_enumerable, NULL},
      {"apply", NULL, apply, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gradient", NULL, gradient, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluGradient", NULL, relu_gradient_of, NULL, NULL, NULL, napi_enumerable, NULL},
      {"maxPoolGradient", NULL, max_pool_gradient_of, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
#ifdef OTOC_ONEDNN
  define_onednn(env, exports);
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
