/*
 * oneDNN's convolution primitives on tfjs's tensors as they lie in memory: activations NHWC,
 * filters [kh, kw, in, out] (groups = 1) or [kh, kw, in / groups, groups, out / groups]
 * (depthwise: [kh, kw, channels, multiplier]). Only built when oneDNN is present (OTOC_ONEDNN).
 */
#ifndef OTOC_ONEDNN_H
#define OTOC_ONEDNN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One convolution: sizes, strides, dilations (1 = none) and pads along each axis. */
typedef struct {
  long batch, in_height, in_width, in_channels;
  long out_height, out_width, out_channels;
  long filter_height, filter_width;
  long stride_height, stride_width, dilation_height, dilation_width;
  long pad_top, pad_left, pad_bottom, pad_right;
  long groups;
} OnednnConv;

/* The number of values in OnednnConv, as the addon reads them from an array. */
#define ONEDNN_CONV_FIELDS 18

typedef enum {
  /* y = conv(x, w): a = x, b = w, out = y. */
  ONEDNN_CONV_FORWARD = 0,
  /* dx from dy and w: a = dy, b = w, out = dx. */
  ONEDNN_CONV_BACKWARD_DATA = 1,
  /* dw from x and dy: a = x, b = dy, out = dw. */
  ONEDNN_CONV_BACKWARD_WEIGHTS = 2,
} OnednnConvKind;

/* The element counts of a, b and out for `kind` of `conv`. */
void onednn_conv_sizes(const OnednnConv *conv, OnednnConvKind kind, size_t sizes[3]);

/*
 * Runs `kind` of `conv` with the calling thread's OpenMP thread count. Returns NULL, or a message
 * (static storage of the calling thread) when oneDNN refused.
 */
const char *onednn_conv(const OnednnConv *conv, OnednnConvKind kind, const float *a, const float *b, float *out);

/* Kernel threads of the calling thread's oneDNN primitives (OpenMP), and the most it may use. */
void onednn_set_threads(int threads);
int onednn_threads(void);

/* oneDNN's version, e.g. "2.6.3". */
const char *onednn_version(void);

#ifdef __cplusplus
}
#endif

#endif
