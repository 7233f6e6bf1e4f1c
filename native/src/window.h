/*
 * A 2-D window operation over NHWC float32 data, a convolution or a pool: its sizes, filter,
 * strides, dilations (1 = none), pads and groups. The addon reads it from a Float64Array of its
 * WINDOW_FIELDS values in this order (src/tfjs/kernels/kernel-inputs.ts, windowParams).
 */
#ifndef OTOC_WINDOW_H
#define OTOC_WINDOW_H

typedef struct {
  long batch, in_height, in_width, in_channels;
  long out_height, out_width, out_channels;
  long filter_height, filter_width;
  long stride_height, stride_width, dilation_height, dilation_width;
  long pad_top, pad_left, pad_bottom, pad_right;
  long groups;
} Window;

#define WINDOW_FIELDS 18
/* The pads, fields 13 to 16, may be 0; every other field is a positive size. */
#define WINDOW_FIRST_PAD 13
#define WINDOW_PADS 4

#endif
