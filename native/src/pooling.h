/* Max pooling over NHWC float32 data. */
#ifndef OTOC_POOLING_H
#define OTOC_POOLING_H

#include <stddef.h>

/* A 2-D max pool: sizes, window, strides and the padding before each axis. */
typedef struct {
  size_t batch, in_height, in_width, channels, out_height, out_width;
  size_t filter_height, filter_width, stride_height, stride_width, pad_top, pad_left;
} PoolShape;

/* The number of values in PoolShape, as the addon reads them from an array. */
#define POOL_SHAPE_FIELDS 12

/*
 * The gradient of a max pool: each window's dy goes to its first maximum in row-major window
 * order (ties are common after a ReLU), as tfjs's cpu backend picks it. Positions outside x
 * (padding) never win, and neither does NaN; a window with no value above −∞ passes nothing.
 * Windows may overlap, so contributions add. Writes all of dx. Returns 0 when it could not
 * allocate its scratch memory, else 1.
 */
int max_pool_gradient(const float *x, const float *dy, float *dx, const PoolShape *shape);

#endif
