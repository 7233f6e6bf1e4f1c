/** tfjs kernels of the pooling ops (1-D and 2-D windows, any rank for the global ones), on channels-last tensors. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrInt, attrInts } from '../../ir/attributes.js';
import { TfjsRule, TfjsRules, acceptAttributes, channelsLast, unsupported } from './rule.js';
import { slidingOutputDims, type Window } from '../../ops/sliding-window.js';
import { pickAlong } from './gather-along.js';
import { Pads, explicitPadding, kernelSpan, lift1d, lower1d, planarWindow, resolvedPads } from './planar.js';

/**
 * Padding at the end that makes a floor-mode pool as long as ceil_mode's: the window that
 * starts in the last partial stretch reads it (unless it would start in the end padding).
 */
function ceilExtension(w: Window, sizes: number[], pads: Pads): number[] {
  const wanted = slidingOutputDims(sizes, { ...w, padsBegin: pads.begin, padsEnd: pads.end, autoPad: 'NOTSET' }, true);
  return sizes.map((size, i) => {
    const reach = ((wanted[i] as number) - 1) * w.strides[i] + kernelSpan(w.kernel[i], w.dilations[i]);
    return Math.max(reach - (size + pads.begin[i] + pads.end[i]), 0);
  });
}

/**
 * Pools pad with tf.pad and run unpadded: tfjs 4.22's tf.avgPool gradient is wrong with explicit
 * padding (on cpu and wasm alike), while tf.pad's gradient is a plain slice.
 */
function padSpatial(x: tf.Tensor4D, pads: Pads, value: number): tf.Tensor4D {
  if (pads.begin.every((p) => p === 0) && pads.end.every((p) => p === 0)) return x;
  return tf.pad(x, explicitPadding(pads), value);
}

/** Every `stride`-th position along the spatial axes of a stride-1 result: `sizes` of them. */
function subsample(x: tf.Tensor4D, strides: number[], sizes: number[]): tf.Tensor4D {
  let y: tf.Tensor = x;
  strides.forEach((s, i) => {
    if (s > 1) y = pickAlong(y, Array.from({ length: sizes[i] }, (_, k) => k * s), i + 1);
  });
  return y as tf.Tensor4D;
}

/** Max pooling; padding is −∞, so it never wins. tf.pool dilates only with unit strides: those subsample after. */
function maxPool(x: tf.Tensor4D, w: Window, pads: Pads): tf.Tensor4D {
  const kernel: [number, number] = [w.kernel[0], w.kernel[1]];
  const padded = padSpatial(x, pads, -Infinity);
  if (w.dilations.every((d) => d === 1)) return tf.maxPool(padded, kernel, [w.strides[0], w.strides[1]], 'valid');
  const dense = tf.pool(padded, kernel, 'max', 'valid', [w.dilations[0], w.dilations[1]], 1);
  const sizes = [1, 2].map((a, i) => Math.floor((dense.shape[a] - 1) / w.strides[i]) + 1);
  return subsample(dense, w.strides, sizes);
}

/** How many elements a window at each output position counts, along one axis. */
function windowCounts(outSize: number, size: number, w: Window, axis: number, pads: Pads, includePad: boolean): number[] {
  const [lo, hi] = includePad ? [-pads.begin[axis], size + pads.end[axis]] : [0, size];
  return Array.from({ length: outSize }, (_, o) => {
    const start = o * w.strides[axis] - pads.begin[axis];
    return Math.min(start + w.kernel[axis], hi) - Math.max(start, lo);
  });
}

/**
 * Average pooling over zero padding, rescaled where a window counts fewer elements than its
 * size: the padding (unless count_include_pad) and what ceil mode adds (always) do not count.
 */
function averagePool(x: tf.Tensor4D, w: Window, pads: Pads, extension: number[], includePad: boolean): tf.Tensor4D {
  const sizes = x.shape.slice(1, 3);
  const total = { begin: pads.begin, end: pads.end.map((p, i) => p + extension[i]) };
  const y = tf.avgPool(padSpatial(x, total, 0), [w.kernel[0], w.kernel[1]], [w.strides[0], w.strides[1]], 'valid');
  const [rows, cols] = [0, 1].map((a) => windowCounts(y.shape[a + 1], sizes[a], w, a, pads, includePad));
  const full = w.kernel[0] * w.kernel[1];
  if (rows.every((r) => r === w.kernel[0]) && cols.every((c) => c === w.kernel[1])) return y;
  const scale = Float32Array.from(rows.flatMap((r) => cols.map((c) => full / (r * c))));
  return tf.mul(y, tf.tensor4d(scale, [1, rows.length, cols.length, 1]));
}

function poolTfjs(kind: 'max' | 'average'): TfjsRule {
  return (n) => {
    const node = n.node;
    const shared = ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'strides'];
    acceptAttributes(node, kind === 'max' ? [...shared, 'storage_order'] : [...shared, 'count_include_pad']);
    if (node.outputs[1]) throw unsupported(node, 'the Indices output');
    const kernel = attrInts(node, 'kernel_shape');
    if (!kernel) throw new OtocError(`node ${node.label()}: no kernel_shape`);
    const spatial = kernel.length;
    const window = planarWindow(node, spatial, undefined);
    if (kind === 'average' && window.dilations.some((d) => d !== 1)) throw unsupported(node, 'dilated average pooling');
    const ceilMode = attrInt(node, 'ceil_mode', 0) !== 0;
    const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
    return (ctx) => {
      const x = lift1d(ctx.input(0, 'channelsLast'), spatial);
      const sizes = x.shape.slice(1, 3);
      const pads = resolvedPads(window, sizes);
      const extension = ceilMode ? ceilExtension(window, sizes, pads) : [0, 0];
      const y =
        kind === 'max'
          ? maxPool(x, window, { begin: pads.begin, end: pads.end.map((p, i) => p + extension[i]) })
          : averagePool(x, window, pads, extension, includePad);
      return [channelsLast(lower1d(y, spatial))];
    };
  };
}

/** GlobalAveragePool / GlobalMaxPool: over every spatial axis, kept as 1s. */
function globalPoolTfjs(reduce: (x: tf.Tensor, axes: number[], keepDims: boolean) => tf.Tensor): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, []);
    return (ctx) => {
      const x = ctx.input(0, 'channelsLast');
      if (x.rank < 3) throw new OtocError(`node ${n.node.label()}: input of rank ${x.rank}`);
      return [channelsLast(reduce(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 1), true))];
    };
  };
}

/** The tfjs rules of the pooling ops, by op type. */
export const poolingRules: TfjsRules = {
  MaxPool: poolTfjs('max'),
  AveragePool: poolTfjs('average'),
  GlobalAveragePool: globalPoolTfjs(tf.mean),
  GlobalMaxPool: globalPoolTfjs(tf.max),
};
