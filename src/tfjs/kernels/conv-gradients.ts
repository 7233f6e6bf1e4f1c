import * as tf from '@tensorflow/tfjs';
import { convAxes, cropToWindows, spreadSpatially, type ConvAxis, type Window } from './conv-axes.js';

/*
 * Gradients of an NHWC depthwise convolution, each built as one forward depthwise convolution
 * so that it runs on the backend's own kernel. The forward convolution, per spatial axis, reads
 *   y[i] = Σ_p xpad[i·stride + p·dilation] · w[p],   xpad[k] = x[k − padBefore].
 */

/** The x indices that filter tap p = 0 … filterSize−1 reads over all outputs: its window. */
function filterGradientWindow(axis: ConvAxis): Window {
  const first = -axis.padBefore;
  return { first, last: first + (axis.filterSize - 1) * axis.dilation + (axis.outSize - 1) * axis.stride };
}

/** The indices of dy spread by `stride` that input rows 0 … inSize−1 read through the flipped filter. */
function inputGradientWindow(axis: ConvAxis): Window {
  return { first: axis.padBefore - (axis.filterSize - 1) * axis.dilation, last: axis.inSize - 1 + axis.padBefore };
}

/**
 * The depthwise filter gradient (filter [kh,kw,C,M], dy channel c·M + m):
 *   dW[p,q,c,m] = Σ_{n,i,j} xpad[n, i·s + p·d, j·s + q·d, c] · dy[n,i,j,c·M + m],
 * a convolution of x by dy as the filter, in which the forward stride becomes the dilation and
 * the forward dilation the stride. Channel c must only meet channel c, so batch and channels
 * fold into N·C depthwise channels and the batch is summed afterwards.
 */
export function depthwiseFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [rows, cols] = convAxes(info);
  const [batch, outHeight, outWidth] = dy.shape;
  const channels = info.inChannels;
  const multiplier = info.outChannels / channels;
  const { inside, pad } = cropToWindows(x, filterGradientWindow(rows), filterGradientWindow(cols));
  const [, height, width] = inside.shape;
  const folded = inside.transpose([1, 2, 0, 3]).reshape<tf.Tensor4D>([1, height, width, batch * channels]);
  const dyFilter = dy.transpose([1, 2, 0, 3]).reshape<tf.Tensor4D>([outHeight, outWidth, batch * channels, multiplier]);
  const perSample = tf.depthwiseConv2d(folded, dyFilter, [rows.dilation, cols.dilation], pad, 'NHWC', [
    rows.stride,
    cols.stride,
  ]);
  return perSample.reshape([rows.filterSize, cols.filterSize, batch, channels, multiplier]).sum(2);
}

/**
 * The depthwise input gradient: a depthwise convolution of the spread dy with the flipped
 * filter, one output per (channel, multiplier), summed over the multiplier.
 */
export function depthwiseInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [rows, cols] = convAxes(info);
  const [kh, kw, channels, multiplier] = filter.shape;
  const spread = spreadSpatially(dy, rows.stride, cols.stride);
  const { inside, pad } = cropToWindows(spread, inputGradientWindow(rows), inputGradientWindow(cols));
  const flipped = tf.reverse(filter, [0, 1]).reshape<tf.Tensor4D>([kh, kw, channels * multiplier, 1]);
  const dx = tf.depthwiseConv2d(inside, flipped, 1, pad, 'NHWC', [rows.dilation, cols.dilation]);
  if (multiplier === 1) return dx;
  const [batch, height, width] = dx.shape;
  return dx.reshape<tf.Tensor5D>([batch, height, width, channels, multiplier]).sum(4);
}
