#include "pooling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

/* The part [*first, *last) of a window of `size` from `start` that lies inside [0, limit). */
static void inside(long start, long size, long limit, long *first, long *last) {
  *first = start > 0 ? start : 0;
  *last = start + size < limit ? start + size : limit;
}

/* One image's gradient, with scratch for the channels' running maxima and their positions. */
static void image_gradient(const float *x, const float *dy, float *dx, const Window *s, float *best, long *winner) {
  const long channels = s->in_channels;
  memset(dx, 0, (size_t)(s->in_height * s->in_width * channels) * sizeof(float));
  for (long out_row = 0; out_row < s->out_height; out_row++) {
    long row_first, row_last;
    inside(out_row * s->stride_height - s->pad_top, s->filter_height, s->in_height, &row_first, &row_last);
    for (long out_col = 0; out_col < s->out_width; out_col++) {
      long col_first, col_last;
      inside(out_col * s->stride_width - s->pad_left, s->filter_width, s->in_width, &col_first, &col_last);
      for (long c = 0; c < channels; c++) {
        best[c] = -INFINITY;
        winner[c] = -1;
      }
      for (long row = row_first; row < row_last; row++) {
        for (long col = col_first; col < col_last; col++) {
          const long base = (row * s->in_width + col) * channels;
          for (long c = 0; c < channels; c++) {
            const float value = x[base + c];
            if (value > best[c]) {
              best[c] = value;
              winner[c] = base + c;
            }
          }
        }
      }
      const float *g = dy + (out_row * s->out_width + out_col) * channels;
      for (long c = 0; c < channels; c++) {
        if (winner[c] >= 0) dx[winner[c]] += g[c];
      }
    }
  }
}

int max_pool_gradient(const float *x, const float *dy, float *dx, const Window *s) {
  const long in_image = s->in_height * s->in_width * s->in_channels;
  const long out_image = s->out_height * s->out_width * s->in_channels;
  int ok = 1;
  /* Images write disjoint parts of dx: one per thread at a time. */
  OMP(omp parallel) {
    long *winner = malloc((size_t)s->in_channels * (sizeof(long) + sizeof(float)));
    if (!winner) {
      OMP(omp atomic write)
      ok = 0;
    }
    OMP(omp for schedule(static))
    for (long b = 0; b < s->batch; b++) {
      if (winner) image_gradient(x + b * in_image, dy + b * out_image, dx + b * in_image, s, (float *)(winner + s->in_channels), winner);
    }
    free(winner);
  }
  return ok;
}
