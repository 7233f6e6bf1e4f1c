/*
 * Batch normalization over channels-last float32 data: `rows` rows of `channels` values.
 * Each function returns 0 when it could not allocate its scratch memory, else 1.
 */
#ifndef OTOC_BATCHNORM_H
#define OTOC_BATCHNORM_H

#include <stddef.h>

/*
 * Per-channel mean and biased variance (divided by the row count), two passes; sums in float over
 * blocks of rows, accumulated in double.
 */
int bn_moments(const float *x, size_t rows, size_t channels, float *mean, float *variance);

/* y = (x − mean) · gamma / √(variance + eps) + beta. */
int bn_apply(const float *x, size_t rows, size_t channels, const float *mean, const float *variance,
              const float *gamma, const float *beta, float eps, float *y);

/*
 * Gradient of bn_apply with the batch's own statistics (x̂ the normalized x, n the row count):
 *   dBeta = Σ dy, dGamma = Σ dy·x̂, dx = gamma/√(variance + eps) · (dy − dBeta/n − x̂·dGamma/n).
 */
int bn_gradient(const float *dy, const float *x, size_t rows, size_t channels, const float *mean,
                 const float *variance, const float *gamma, float eps, float *dx, float *dgamma,
                 float *dbeta);

#endif
