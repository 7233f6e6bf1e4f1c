/* Gradients of element-wise activations over float32 data of `length` values. */
#ifndef OTOC_ACTIVATION_H
#define OTOC_ACTIVATION_H

#include <stddef.h>

/* dx = dy where the ReLU's output y is positive, else 0. */
void relu_gradient(const float *dy, const float *y, size_t length, float *dx);

#endif
