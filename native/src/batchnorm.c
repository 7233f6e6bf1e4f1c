#include "batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Sums run in float over blocks of this many rows (vectorized), then accumulate in double. */
#define BLOCK_ROWS 64

/* What column_sums adds up per channel, into its two sums a and b. */
typedef enum {
  /* a: Σ x */
  SUM_X,
  /* b: Σ (x − mean)² */
  SUM_SQUARED_DEVIATION,
  /* a: Σ dy, b: Σ dy·(x − mean) */
  SUM_GRADIENT,
} SumKind;

typedef struct {
  SumKind kind;
  const float *x, *dy, *mean;
  size_t rows, channels;
} SumTask;

/* Adds rows [r0, r1) of the task's terms into the float sums a and b. */
static void add_rows(const SumTask *t, size_t r0, size_t r1, float *a, float *b) {
  const size_t channels = t->channels;
  for (size_t r = r0; r < r1; r++) {
    const float *in = t->x + r * channels;
    if (t->kind == SUM_X) {
      for (size_t c = 0; c < channels; c++) a[c] += in[c];
    } else if (t->kind == SUM_SQUARED_DEVIATION) {
      for (size_t c = 0; c < channels; c++) {
        const float d = in[c] - t->mean[c];
        b[c] += d * d;
      }
    } else {
      const float *g = t->dy + r * channels;
      for (size_t c = 0; c < channels; c++) {
        a[c] += g[c];
        b[c] += g[c] * (in[c] - t->mean[c]);
      }
    }
  }
}

static int thread_count(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

static int thread_index(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/*
 * The task's sums per channel into a and b (double, `channels` each). Each thread sums its own
 * contiguous range of rows, in float over blocks of BLOCK_ROWS and in double across blocks; the
 * threads' sums are then added in thread order, so a given thread count always gives the same
 * result. Returns 0 when it could not allocate its scratch memory.
 */
static int column_sums(const SumTask *t, double *a, double *b) {
  const size_t channels = t->channels;
  const int threads = thread_count();
  double *partial = calloc((size_t)threads * 2 * channels, sizeof(double));
  if (!partial) return 0;
  int ok = 1;
  OMP(omp parallel num_threads(threads)) {
    const size_t index = (size_t)thread_index();
    const size_t team = (size_t)threads;
    double *pa = partial + index * 2 * channels, *pb = pa + channels;
    float *block = malloc(2 * channels * sizeof(float));
    if (!block) {
      OMP(omp atomic write)
      ok = 0;
    } else {
      const size_t first = t->rows * index / team, last = t->rows * (index + 1) / team;
      for (size_t r0 = first; r0 < last; r0 += BLOCK_ROWS) {
        const size_t r1 = r0 + BLOCK_ROWS < last ? r0 + BLOCK_ROWS : last;
        memset(block, 0, 2 * channels * sizeof(float));
        add_rows(t, r0, r1, block, block + channels);
        for (size_t c = 0; c < channels; c++) {
          pa[c] += block[c];
          pb[c] += block[channels + c];
        }
      }
      free(block);
    }
  }
  memset(a, 0, channels * sizeof(double));
  memset(b, 0, channels * sizeof(double));
  for (int i = 0; i < threads; i++) {
    for (size_t c = 0; c < channels; c++) {
      a[c] += partial[(size_t)i * 2 * channels + c];
      b[c] += partial[(size_t)i * 2 * channels + channels + c];
    }
  }
  free(partial);
  return ok;
}

int bn_moments(const float *x, size_t rows, size_t channels, float *mean, float *variance) {
  double *sums = malloc(2 * channels * sizeof(double));
  if (!sums) return 0;
  double *a = sums, *b = sums + channels;
  SumTask task = {SUM_X, x, NULL, mean, rows, channels};
  int ok = column_sums(&task, a, b);
  for (size_t c = 0; c < channels; c++) mean[c] = (float)(a[c] / (double)rows);
  task.kind = SUM_SQUARED_DEVIATION;
  ok = ok && column_sums(&task, a, b);
  for (size_t c = 0; c < channels; c++) variance[c] = (float)(b[c] / (double)rows);
  free(sums);
  return ok;
}

int bn_apply(const float *x, size_t rows, size_t channels, const float *mean, const float *variance,
             const float *gamma, const float *beta, float eps, float *y) {
  float *scale = malloc(2 * channels * sizeof(float));
  if (!scale) return 0;
  float *shift = scale + channels;
  for (size_t c = 0; c < channels; c++) {
    scale[c] = gamma[c] / sqrtf(variance[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  OMP(omp parallel for schedule(static))
  for (size_t r = 0; r < rows; r++) {
    const float *in = x + r * channels;
    float *out = y + r * channels;
    for (size_t c = 0; c < channels; c++) out[c] = in[c] * scale[c] + shift[c];
  }
  free(scale);
  return 1;
}

int bn_gradient(const float *dy, const float *x, size_t rows, size_t channels, const float *mean,
                const float *variance, const float *gamma, float eps, float *dx, float *dgamma, float *dbeta) {
  double *sums = malloc(2 * channels * sizeof(double));
  float *coeff = malloc(3 * channels * sizeof(float));
  if (!sums || !coeff) {
    free(sums);
    free(coeff);
    return 0;
  }
  /* sums: Σ dy and Σ dy·(x − mean) */
  double *sum_dy = sums, *sum_dy_centered = sums + channels;
  const SumTask task = {SUM_GRADIENT, x, dy, mean, rows, channels};
  const int ok = column_sums(&task, sum_dy, sum_dy_centered);
  /* dx = a·dy − w·(x − mean) − k with a = gamma·invStd, w = a·invStd²·Σdy(x−mean)/n, k = a·Σdy/n */
  float *a = coeff, *w = coeff + channels, *k = coeff + 2 * channels;
  const double n = (double)rows;
  for (size_t c = 0; c < channels; c++) {
    const double inv = 1.0 / sqrt((double)variance[c] + eps);
    const double ac = gamma[c] * inv;
    a[c] = (float)ac;
    w[c] = (float)(ac * inv * inv * sum_dy_centered[c] / n);
    k[c] = (float)(ac * sum_dy[c] / n);
    dbeta[c] = (float)sum_dy[c];
    dgamma[c] = (float)(sum_dy_centered[c] * inv);
  }
  OMP(omp parallel for schedule(static))
  for (size_t r = 0; r < rows; r++) {
    const float *g = dy + r * channels;
    const float *in = x + r * channels;
    float *out = dx + r * channels;
    for (size_t c = 0; c < channels; c++) out[c] = a[c] * g[c] - w[c] * (in[c] - mean[c]) - k[c];
  }
  free(coeff);
  free(sums);
  return ok;
}
