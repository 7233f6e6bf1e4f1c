/* Max pooling over NHWC float32 data. */
#ifndef OTOC_POOLING_H
#define OTOC_POOLING_H

#include "window.h"

/*
 * The gradient of a max pool: each window's dy goes to its first maximum in row-major window
 * order (ties are common after a ReLU), as tfjs's cpu backend picks it. Positions outside x
 * (padding) never win, and neither does NaN; a window with no value above −∞ passes nothing.
 * Windows may overlap, so contributions add. Writes all of dx. The pool's in_channels are its
 * channels; its dilations, out_channels and groups are not read. Returns 0 when it could not
 * allocate its scratch memory, else 1.
 */
int max_pool_gradient(const float *x, const float *dy, float *dx, const Window *pool);

#endif
