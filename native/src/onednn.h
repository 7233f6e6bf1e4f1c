/*
 * oneDNN's convolution primitives on tfjs's tensors as they lie in memory: activations NHWC,
 * filters [kh, kw, in, out] (groups = 1) or [kh, kw, in / groups, groups, out / groups]
 * (depthwise: [kh, kw, channels, multiplier]). Only built when oneDNN is present (OTOC_ONEDNN).
 */
#ifndef OTOC_ONEDNN_H
#define OTOC_ONEDNN_H

#include <stddef.h>

#include "window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  /* y = conv(x, w): a = x, b = w, out = y. */
  ONEDNN_CONV_FORWARD = 0,
  /* dx from dy and w: a = dy, b = w, out = dx. */
  ONEDNN_CONV_BACKWARD_DATA = 1,
  /* dw from x and dy: a = x, b = dy, out = dw. */
  ONEDNN_CONV_BACKWARD_WEIGHTS = 2,
} OnednnConvKind;

/* The element counts of a, b and out for `kind` of `conv`. */
void onednn_conv_sizes(const Window *conv, OnednnConvKind kind, size_t sizes[3]);

/*
 * Runs `kind` of `conv` with the calling thread's OpenMP thread count. Returns NULL, or a message
 * (static storage of the calling thread) when oneDNN refused.
 */
const char *onednn_conv(const Window *conv, OnednnConvKind kind, const float *a, const float *b, float *out);

/* Kernel threads of the calling thread's oneDNN primitives (OpenMP), and the most it may use. */
void onednn_set_threads(int threads);
int onednn_threads(void);

/* oneDNN's version, e.g. "2.6.3". */
const char *onednn_version(void);

#ifdef __cplusplus
}
#endif

#endif
