import * as tf from '@tensorflow/tfjs';

/** The forward convolution along one spatial axis: what the gradient convolutions are built from. */
export interface ConvAxis {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  dilation: number;
  padBefore: number;
}

/** The row and column axes of a forward convolution. */
export function convAxes(info: tf.backend_util.Conv2DInfo): [ConvAxis, ConvAxis] {
  return [
    {
      inSize: info.inHeight,
      outSize: info.outHeight,
      filterSize: info.filterHeight,
      stride: info.strideHeight,
      dilation: info.dilationHeight,
      padBefore: info.padInfo.top,
    },
    {
      inSize: info.inWidth,
      outSize: info.outWidth,
      filterSize: info.filterWidth,
      stride: info.strideWidth,
      dilation: info.dilationWidth,
      padBefore: info.padInfo.left,
    },
  ];
}

/**
 * A range of indices [first, last] along an axis that a gradient convolution reads as its whole
 * input; indices outside the tensor read as zeros.
 */
export interface Window {
  first: number;
  last: number;
}

/**
 * `t` (spatial axes 1 and 2) sliced to the part of each window that lies inside it, and the
 * zero padding that completes the windows. Windows can start after 0 or end before the last
 * index (large explicit pads, strides that skip trailing rows), and convolution pads cannot be
 * negative, hence the slice.
 */
export function cropToWindows(
  t: tf.Tensor4D,
  rows: Window,
  cols: Window,
): { inside: tf.Tensor4D; pad: tf.backend_util.ExplicitPadding } {
  const [batch, height, width, channels] = t.shape;
  const top = Math.max(rows.first, 0);
  const left = Math.max(cols.first, 0);
  const bottom = Math.min(rows.last, height - 1);
  const right = Math.min(cols.last, width - 1);
  if (bottom < top || right < left) {
    // The windows read only padding: one zero, padded to their size.
    return {
      inside: tf.zeros([batch, 1, 1, channels]),
      pad: [
        [0, 0],
        [0, rows.last - rows.first],
        [0, cols.last - cols.first],
        [0, 0],
      ],
    };
  }
  const cropped = top > 0 || left > 0 || bottom < height - 1 || right < width - 1;
  return {
    inside: cropped ? t.slice([0, top, left, 0], [-1, bottom - top + 1, right - left + 1, -1]) : t,
    pad: [
      [0, 0],
      [top - rows.first, rows.last - bottom],
      [left - cols.first, cols.last - right],
      [0, 0],
    ],
  };
}

/**
 * `t` with `rowStep − 1` zero rows after every row and `colStep − 1` zero columns after every
 * column, so that element (i, j) lands at (i·rowStep, j·colStep).
 */
export function spreadSpatially(t: tf.Tensor4D, rowStep: number, colStep: number): tf.Tensor4D {
  if (rowStep === 1 && colStep === 1) return t;
  const [n, h, w, c] = t.shape;
  return t
    .reshape([n, h, 1, w, 1, c])
    .pad([
      [0, 0],
      [0, 0],
      [0, rowStep - 1],
      [0, 0],
      [0, colStep - 1],
      [0, 0],
    ])
    .reshape([n, h * rowStep, w * colStep, c]);
}
