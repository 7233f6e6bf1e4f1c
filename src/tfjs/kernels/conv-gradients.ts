import * as tf from '@tensorflow/tfjs';
import { convAxes, cropToWindows, spreadSpatially, type ConvAxis, type Window } from './window.js';

/*
 * Gradients of an NHWC convolution, each built as one forward convolution so that it runs on
 * the backend's fast conv kernel. The forward convolution, per spatial axis, reads
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
 * dW[p,q,c,o] = Σ_{n,i,j} xpad[n, i·s + p·d, j·s + q·d, c] · dy[n,i,j,o]: a convolution of x
 * with batch and channels swapped ([C,H,W,N]) by dy as the filter ([OH,OW,N,O]), in which the
 * forward stride becomes the dilation and the forward dilation the stride.
 */
export function convFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [rows, cols] = convAxes(info);
  const { inside, pad } = cropToWindows(x, filterGradientWindow(rows), filterGradientWindow(cols));
  const dW = tf.conv2d(
    inside.transpose<tf.Tensor4D>([3, 1, 2, 0]),
    dy.transpose<tf.Tensor4D>([1, 2, 0, 3]),
    [rows.dilation, cols.dilation],
    pad,
    'NHWC',
    [rows.stride, cols.stride],
  );
  return dW.transpose([1, 2, 0, 3]);
}

/**
 * The input gradient along one axis, split by phase: the rows t = u + padBefore = s·m + r of
 * phase r receive Σ_a dy[m − a]·w[s·a + r], a stride-1 correlation of dy with the sub-filter of
 * taps r, r + s, …. Phases r ≥ filterSize have no taps and receive nothing. All phases read dy
 * through one window of `taps` = ⌈filterSize / s⌉ taps (shorter sub-filters padded with zeros),
 * for the blocks m = firstBlock … firstBlock + blocks − 1 that cover the input; input row 0 lies
 * at `offset` in them. Stride 1 is one phase: the flipped filter. (tfjs dilates only with stride 1.)
 */
interface InputGradientAxis {
  stride: number;
  phases: number;
  taps: number;
  blocks: number;
  offset: number;
  inSize: number;
  window: Window;
}

function inputGradientAxis(axis: ConvAxis): InputGradientAxis {
  const taps = Math.ceil(axis.filterSize / axis.stride);
  const firstBlock = Math.floor(axis.padBefore / axis.stride);
  const lastBlock = Math.floor((axis.padBefore + axis.inSize - 1) / axis.stride);
  return {
    stride: axis.stride,
    phases: Math.min(axis.stride, axis.filterSize),
    taps,
    blocks: lastBlock - firstBlock + 1,
    offset: axis.padBefore - firstBlock * axis.stride,
    inSize: axis.inSize,
    window: { first: firstBlock - (taps - 1) * axis.dilation, last: lastBlock },
  };
}

/**
 * The filter [kh,kw,C,O] as one filter for all phases with taps, [taps_h, taps_w, O, phases_h·phases_w·C]:
 * output channel (r_h, r_w, c) at tap (b_h, b_w) holds w[s_h·(taps_h−1−b_h) + r_h, s_w·(taps_w−1−b_w) + r_w, c, :],
 * zero past the filter's end.
 */
function phaseFilter(filter: tf.Tensor4D, rows: InputGradientAxis, cols: InputGradientAxis): tf.Tensor4D {
  const [kh, kw, channels, outChannels] = filter.shape;
  return filter
    .pad([
      [0, rows.stride * rows.taps - kh],
      [0, cols.stride * cols.taps - kw],
      [0, 0],
      [0, 0],
    ])
    .reshape([rows.taps, rows.stride, cols.taps, cols.stride, channels, outChannels])
    .slice([0, 0, 0, 0, 0, 0], [-1, rows.phases, -1, cols.phases, -1, -1])
    .reverse([0, 2])
    .transpose([0, 2, 5, 1, 3, 4])
    .reshape([rows.taps, cols.taps, outChannels, rows.phases * cols.phases * channels]);
}

/**
 * dx as one stride-1 convolution of dy that computes every phase of the stride at once (no
 * zeros inserted into dy, which would multiply the work by s_h·s_w), then the phases
 * interleaved into rows and columns, with zeros for phases without taps, and cropped to the input.
 */
export function convInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [rowAxis, colAxis] = convAxes(info);
  const [rows, cols] = [inputGradientAxis(rowAxis), inputGradientAxis(colAxis)];
  const { inside, pad } = cropToWindows(dy, rows.window, cols.window);
  const phases = tf.conv2d(inside, phaseFilter(filter, rows, cols), 1, pad, 'NHWC', [rowAxis.dilation, colAxis.dilation]);
  if (rows.stride === 1 && cols.stride === 1) return phases;
  const [batch, channels] = [info.batchSize, info.inChannels];
  const byPhase = phases.reshape([batch, rows.blocks, cols.blocks, rows.phases, cols.phases, channels]);
  const rowsOfPhases =
    rows.phases > 1
      ? byPhase.transpose([0, 1, 3, 2, 4, 5])
      : byPhase.reshape([batch, rows.blocks, rows.phases, cols.blocks, cols.phases, channels]);
  const allPhases =
    rows.phases < rows.stride || cols.phases < cols.stride
      ? rowsOfPhases.pad([
          [0, 0],
          [0, 0],
          [0, rows.stride - rows.phases],
          [0, 0],
          [0, cols.stride - cols.phases],
          [0, 0],
        ])
      : rowsOfPhases;
  const interleaved = allPhases.reshape<tf.Tensor4D>([batch, rows.blocks * rows.stride, cols.blocks * cols.stride, channels]);
  const exact = rows.offset === 0 && cols.offset === 0 && interleaved.shape[1] === rows.inSize && interleaved.shape[2] === cols.inSize;
  return exact ? interleaved : interleaved.slice([0, rows.offset, cols.offset, 0], [-1, rows.inSize, cols.inSize, -1]);
}

/**
 * The depthwise filter gradient (filter [kh,kw,C,M], dy channel c·M + m): the same swap as
 * convFilterGradient, but channel c must only meet channel c, so batch and channels fold into
 * N·C depthwise channels and the batch is summed afterwards.
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
