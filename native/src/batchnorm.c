#include "batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Channel counts up to this use stack scratch; larger ones the heap. */
#define STACK_CHANNELS 1024
/* Sums run in float over blocks of this many rows (vectorized), then accumulate in double. */
#define BLOCK_ROWS 64

typedef struct {
  double *a;
  double *b;
  double stack[2 * STACK_CHANNELS];
  double *heap;
} Sums;

static int sums_init(Sums *s, size_t channels) {
  s->heap = NULL;
  double *base = s->stack;
  if (channels > STACK_CHANNELS) {
    s->heap = malloc(2 * channels * sizeof(double));
    if (!s->heap) return 0;
    base = s->heap;
  }
  s->a = base;
  s->b = base + channels;
  memset(base, 0, 2 * channels * sizeof(double));
  return 1;
}

static void sums_free(Sums *s) { free(s->heap); }

int bn_moments(const float *x, size_t rows, size_t channels, float *mean, float *variance) {
  Sums s;
  if (!sums_init(&s, channels)) return 0;
  float *block = malloc(2 * channels * sizeof(float));
  if (!block) {
    sums_free(&s);
    return 0;
  }
  float *m = block + channels;
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(block, 0, channels * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *row = x + r * channels;
      for (size_t c = 0; c < channels; c++) block[c] += row[c];
    }
    for (size_t c = 0; c < channels; c++) s.a[c] += block[c];
  }
  for (size_t c = 0; c < channels; c++) m[c] = (float)(s.a[c] / (double)rows);
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(block, 0, channels * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *row = x + r * channels;
      for (size_t c = 0; c < channels; c++) {
        float d = row[c] - m[c];
        block[c] += d * d;
      }
    }
    for (size_t c = 0; c < channels; c++) s.b[c] += block[c];
  }
  for (size_t c = 0; c < channels; c++) {
    mean[c] = m[c];
    variance[c] = (float)(s.b[c] / (double)rows);
  }
  free(block);
  sums_free(&s);
  return 1;
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
  for (size_t r = 0; r < rows; r++) {
    const float *in = x + r * channels;
    float *out = y + r * channels;
    for (size_t c = 0; c < channels; c++) out[c] = in[c] * scale[c] + shift[c];
  }
  free(scale);
  return 1;
}

int bn_gradient(const float *dy, const float *x, size_t rows, size_t channels, const float *mean,
                 const float *variance, const float *gamma, float eps, float *dx, float *dgamma,
                 float *dbeta) {
  Sums s;
  if (!sums_init(&s, channels)) return 0;
  float *coeff = malloc(3 * channels * sizeof(float));
  if (!coeff) {
    sums_free(&s);
    return 0;
  }
  /* s.a: Σ dy, s.b: Σ dy·(x − mean); coeff as float partial sums over blocks of rows first */
  float *a = coeff, *w = coeff + channels, *k = coeff + 2 * channels;
  for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
    size_t r1 = r0 + BLOCK_ROWS < rows ? r0 + BLOCK_ROWS : rows;
    memset(coeff, 0, 2 * channels * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *g = dy + r * channels;
      const float *in = x + r * channels;
      for (size_t c = 0; c < channels; c++) {
        a[c] += g[c];
        w[c] += g[c] * (in[c] - mean[c]);
      }
    }
    for (size_t c = 0; c < channels; c++) {
      s.a[c] += a[c];
      s.b[c] += w[c];
    }
  }
  /* dx = a·dy − w·(x − mean) − k with a = gamma·invStd, w = a·invStd²·Σdy(x−mean)/n, k = a·Σdy/n */
  double n = (double)rows;
  for (size_t c = 0; c < channels; c++) {
    double inv = 1.0 / sqrt((double)variance[c] + eps);
    double ac = gamma[c] * inv;
    double wc = ac * inv * inv * s.b[c] / n;
    a[c] = (float)ac;
    w[c] = (float)wc;
    k[c] = (float)(ac * s.a[c] / n);
    dbeta[c] = (float)s.a[c];
    dgamma[c] = (float)(s.b[c] * inv);
  }
  for (size_t r = 0; r < rows; r++) {
    const float *g = dy + r * channels;
    const float *in = x + r * channels;
    float *out = dx + r * channels;
    for (size_t c = 0; c < channels; c++) out[c] = a[c] * g[c] - w[c] * (in[c] - mean[c]) - k[c];
  }
  free(coeff);
  sums_free(&s);
  return 1;
}
