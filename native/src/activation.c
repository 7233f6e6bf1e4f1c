#include "activation.h"

#include "parallel.h"

void relu_gradient(const float *dy, const float *y, size_t length, float *dx) {
  OMP(omp parallel for schedule(static))
  for (size_t i = 0; i < length; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
