/** tfjs kernels of Conv and ConvTranspose (1-D and 2-D), on channels-last activations and ONNX-layout weights. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrInt, attrInts } from '../../ir/attributes.js';
import type { Node } from '../../ir/graph.js';
import type { NodeFacts } from '../../ops/spec.js';
import { isStaticShape } from '../../ops/shape-math.js';
import { TfjsRule, TfjsRules, acceptAttributes, channelsLast } from './rule.js';
import type { Window } from '../../ops/sliding-window.js';
import { Pads, explicitPadding, kernelSpan, lift1d, lower1d, planarWindow, resolvedPads, spatialRank } from './planar.js';

const CONV_ATTRIBUTES = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'];

/** The kernel size the weight's dims give (input 1: [M, C/group, k...] or [C, M/group, k...]). */
function weightKernel(n: NodeFacts): number[] | undefined {
  const dims = n.input(1)?.shape?.slice(2);
  return isStaticShape(dims) ? dims : undefined;
}

/** A weight as 2-D: a 1-D kernel [O, I, k] gains a unit height axis, as lift1d does for the data. */
function liftWeight(w: tf.Tensor, spatial: number): tf.Tensor4D {
  return (spatial === 1 ? tf.expandDims(w, 2) : w) as tf.Tensor4D;
}

/** ONNX [O, I, kh, kw] as tfjs's [kh, kw, I, O]. */
function toHwio(w: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(w, [2, 3, 1, 0]);
}

/**
 * A [kh, kw, ...] filter with `dilations` made explicit (zeros between the taps), for tfjs
 * kernels that cannot combine dilation with stride or have no dilation at all.
 */
function dilateFilter(f: tf.Tensor4D, [dh, dw]: number[]): tf.Tensor4D {
  if (dh === 1 && dw === 1) return f;
  const [kh, kw, a, b] = f.shape;
  const spread = tf.pad(tf.reshape(f, [kh, 1, kw, 1, a, b]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
  return tf.slice(tf.reshape(spread, [kh * dh, kw * dw, a, b]), 0, [kernelSpan(kh, dh), kernelSpan(kw, dw), a, b]) as tf.Tensor4D;
}

/** tfjs convolutions take dilation only with unit strides: otherwise the filter is dilated. */
function convFilter(f: tf.Tensor4D, w: Window): { filter: tf.Tensor4D; dilations: [number, number] } {
  const both = w.strides.some((s) => s > 1) && w.dilations.some((d) => d > 1);
  return both ? { filter: dilateFilter(f, w.dilations), dilations: [1, 1] } : { filter: f, dilations: [w.dilations[0], w.dilations[1]] };
}

/** Conv of NHWC `x` with ONNX weight `w` [M, C/group, kh, kw]: plain, depthwise, or split into groups. */
function groupedConv(x: tf.Tensor4D, w: tf.Tensor4D, group: number, window: Window, pads: Pads): tf.Tensor4D {
  const strides: [number, number] = [window.strides[0], window.strides[1]];
  const padding = explicitPadding(pads);
  const conv = (xi: tf.Tensor4D, wi: tf.Tensor4D) => {
    const { filter, dilations } = convFilter(toHwio(wi), window);
    return tf.conv2d(xi, filter, strides, padding, 'NHWC', dilations);
  };
  if (group === 1) return conv(x, w);
  const channels = x.shape[3];
  if (group === channels && w.shape[1] === 1) {
    // Depthwise: output channel c·m + j reads input channel c, as tfjs's filter [kh, kw, C, m] does.
    const [kh, kw] = w.shape.slice(2);
    const hwcm = tf.transpose(tf.reshape(w, [channels, w.shape[0] / channels, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
    const { filter, dilations } = convFilter(hwcm, window);
    return tf.depthwiseConv2d(x, filter, strides, padding, 'NHWC', dilations);
  }
  const xs = tf.split<tf.Tensor4D>(x, group, 3);
  const ws = tf.split<tf.Tensor4D>(w, group, 0);
  return tf.concat(xs.map((xi, i) => conv(xi, ws[i])), 3);
}

function readGroup(node: Node): number {
  const group = attrInt(node, 'group', 1);
  if (group < 1) throw new OtocError(`node ${node.label()}: group ${group}`);
  return group;
}

const convTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, CONV_ATTRIBUTES);
  const spatial = spatialRank(n, 0);
  const window = planarWindow(n.node, spatial, weightKernel(n));
  const group = readGroup(n.node);
  return (ctx) => {
    const x = lift1d(ctx.input(0, 'channelsLast'), spatial);
    const w = liftWeight(ctx.input(1), spatial);
    if (w.shape[1] * group !== x.shape[3]) {
      throw new OtocError(`node ${n.node.label()}: ${x.shape[3]} input channels do not match weight [${w.shape}] with group ${group}`);
    }
    let y: tf.Tensor = groupedConv(x, w, group, window, resolvedPads(window, x.shape.slice(1, 3)));
    if (ctx.has(2)) y = tf.add(y, ctx.input(2));
    return [channelsLast(lower1d(y, spatial))];
  };
};

/**
 * Where ConvTranspose's output starts in the full (unpadded) result and how long it is, per axis.
 * With output_shape or auto_pad SAME_*, the pads follow from the wanted size (onnx's reference:
 * the odd pixel goes to the end for SAME_UPPER, to the beginning otherwise).
 */
function transposedCrop(w: Window, inSizes: number[], outputPadding: number[], outputShape: number[] | undefined): { begin: number[]; size: number[] } {
  const full = inSizes.map((size, i) => w.strides[i] * (size - 1) + outputPadding[i] + kernelSpan(w.kernel[i], w.dilations[i]));
  const same = w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER';
  if (!outputShape && !same) {
    return { begin: w.padsBegin, size: full.map((f, i) => f - w.padsBegin[i] - w.padsEnd[i]) };
  }
  const size = outputShape ?? inSizes.map((s, i) => s * w.strides[i]);
  const begin = full.map((f, i) => {
    const total = f - size[i];
    return w.autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
  });
  return { begin, size };
}

/** The window [begin, begin + size) of NHWC `y` along H and W, reading zeros outside it. */
function cropOrExtend(y: tf.Tensor4D, begin: number[], size: number[]): tf.Tensor4D {
  const before = begin.map((b) => Math.max(-b, 0));
  const after = begin.map((b, i) => Math.max(b + size[i] - y.shape[i + 1], 0));
  const padded = before.some((p) => p > 0) || after.some((p) => p > 0) ? tf.pad(y, [[0, 0], [before[0], after[0]], [before[1], after[1]], [0, 0]]) : y;
  const start = begin.map((b) => Math.max(b, 0));
  if (start.every((s) => s === 0) && size.every((s, i) => s === padded.shape[i + 1])) return padded;
  return tf.slice(padded, [0, start[0], start[1], 0], [-1, size[0], size[1], -1]);
}

const convTransposeTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, [...CONV_ATTRIBUTES, 'output_padding', 'output_shape']);
  const spatial = spatialRank(n, 0);
  const window = planarWindow(node, spatial, weightKernel(n));
  const group = readGroup(node);
  const lift = (values: number[] | undefined, unit: number) => (values && spatial === 1 ? [unit, ...values] : values);
  const outputPadding = lift(attrInts(node, 'output_padding', new Array<number>(spatial).fill(0)), 0)!;
  // output_shape may list N and C too: its last entries are the spatial sizes.
  const outputShape = lift(attrInts(node, 'output_shape')?.slice(-spatial), 1);
  if (outputPadding.length !== 2 || (outputShape && outputShape.length !== 2)) {
    throw new OtocError(`node ${node.label()}: output_padding or output_shape does not fit ${spatial} spatial axes`);
  }
  return (ctx) => {
    const x = lift1d(ctx.input(0, 'channelsLast'), spatial);
    const w = liftWeight(ctx.input(1), spatial);
    const [batch, height, width, channels] = x.shape;
    if (w.shape[0] !== channels || channels % group !== 0) {
      throw new OtocError(`node ${node.label()}: ${channels} input channels do not match weight [${w.shape}] with group ${group}`);
    }
    // The full result of each group, before pads and output_padding cut or extend it.
    const full = [height, width].map((size, i) => window.strides[i] * (size - 1) + kernelSpan(window.kernel[i], window.dilations[i]));
    const perGroup = w.shape[1];
    const xs = group === 1 ? [x] : tf.split<tf.Tensor4D>(x, group, 3);
    const ws = group === 1 ? [w] : tf.split<tf.Tensor4D>(w, group, 0);
    const parts = xs.map((xi, i): tf.Tensor4D => {
      const filter = dilateFilter(toHwio(ws[i]), window.dilations);
      return tf.conv2dTranspose(xi, filter, [batch, full[0], full[1], perGroup], window.strides as [number, number], 'valid');
    });
    const crop = transposedCrop(window, [height, width], outputPadding, outputShape);
    if (crop.size.some((s) => s <= 0)) throw new OtocError(`node ${node.label()}: empty output`);
    let y: tf.Tensor = cropOrExtend(group === 1 ? parts[0] : tf.concat(parts, 3), crop.begin, crop.size);
    if (ctx.has(2)) y = tf.add(y, ctx.input(2));
    return [channelsLast(lower1d(y, spatial))];
  };
};

/** The tfjs rules of Conv and ConvTranspose, by op type. */
export const convRules: TfjsRules = {
  Conv: convTfjs,
  ConvTranspose: convTransposeTfjs,
};
