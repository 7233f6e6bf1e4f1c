#include "pooling.h"

#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One image's gradient, with scratch for `channels` running maxima and their positions. */
static void image_gradient(const float *x, const float *dy, float *dx, const PoolShape *s, float *best, size_t *winner) {
  const size_t channels = s->channels;
  const size_t none = (size_t)-1;
  memset(dx, 0, s->in_height * s->in_width * channels * sizeof(float));
  for (size_t out_row = 0; out_row < s->out_height; out_row++) {
    const long row_start = (long)(out_row * s->stride_height) - (long)s->pad_top;
    const size_t row_first = row_start > 0 ? (size_t)row_start : 0;
    const long row_end_signed = row_start + (long)s->filter_height;
    const size_t row_end = row_end_signed < (long)s->in_height ? (size_t)(row_end_signed > 0 ? row_end_signed : 0) : s->in_height;
    for (size_t out_col = 0; out_col < s->out_width; out_col++) {
      const long col_start = (long)(out_col * s->stride_width) - (long)s->pad_left;
      const size_t col_first = col_start > 0 ? (size_t)col_start : 0;
      const long col_end_signed = col_start + (long)s->filter_width;
      const size_t col_end = col_end_signed < (long)s->in_width ? (size_t)(col_end_signed > 0 ? col_end_signed : 0) : s->in_width;
      for (size_t c = 0; c < channels; c++) {
        best[c] = -INFINITY;
        winner[c] = none;
      }
      for (size_t row = row_first; row < row_end; row++) {
        for (size_t col = col_first; col < col_end; col++) {
          const size_t base = (row * s->in_width + col) * channels;
          for (size_t c = 0; c < channels; c++) {
            const float value = x[base + c];
            if (value > best[c]) {
              best[c] = value;
              winner[c] = base + c;
            }
          }
        }
      }
      const float *g = dy + (out_row * s->out_width + out_col) * channels;
      for (size_t c = 0; c < channels; c++) {
        if (winner[c] != none) dx[winner[c]] += g[c];
      }
    }
  }
}

int max_pool_gradient(const float *x, const float *dy, float *dx, const PoolShape *s) {
  const size_t in_image = s->in_height * s->in_width * s->channels;
  const size_t out_image = s->out_height * s->out_width * s->channels;
  int ok = 1;
  /* Images write disjoint parts of dx: one per thread at a time. */
  OMP(omp parallel) {
    size_t *winner = malloc(s->channels * (sizeof(size_t) + sizeof(float)));
    if (!winner) {
      OMP(omp atomic write)
      ok = 0;
    }
    OMP(omp for schedule(static))
    for (size_t b = 0; b < s->batch; b++) {
      if (winner) image_gradient(x + b * in_image, dy + b * out_image, dx + b * in_image, s, (float *)(winner + s->channels), winner);
    }
    free(winner);
  }
  return ok;
}
