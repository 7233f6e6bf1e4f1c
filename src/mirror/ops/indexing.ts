/** tfjs kernels of Concat, Split, Slice and Gather. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrInt } from '../../ir/attributes.js';
import { sliceIndices } from '../../ops/shape-math.js';
import { gatherAlong, pickAlong } from './gather-along.js';
import { AxisOrder, TfjsRule, TfjsRules, acceptAttributes, axisIn, heldAxis, held, listOperand, onnxOrder } from './rule.js';

/** Concat: channels-last when any input is held so (typically convolution branches), else ONNX order. */
const concatTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['axis']);
  const axisAttr = attrInt(n.node, 'axis', 0);
  const indices = n.node.inputs.map((_, i) => i);
  return (ctx) => {
    const rank = ctx.shape(0).length;
    const axis = axisIn(n.node, axisAttr, rank);
    const order: AxisOrder = indices.some((i) => ctx.order(i) === 'channelsLast') ? 'channelsLast' : 'onnx';
    return [held(tf.concat(indices.map((i) => ctx.input(i, order)), heldAxis(axis, rank, order)), order)];
  };
};

/**
 * Split along `axis`: sizes from the `split` attribute (before opset 13) or input 1, else equal
 * parts, one per output (from opset 18 `num_outputs` parts of ⌈size / k⌉, the last one smaller).
 */
const splitTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, ['axis', ...(n.opset < 13 ? ['split'] : n.opset >= 18 ? ['num_outputs'] : [])]);
  const axisAttr = attrInt(node, 'axis', 0);
  const sizesOf = listOperand(n, 'split', 13, 1);
  const outputs = node.outputs.length;
  return (ctx) => {
    const dims = ctx.shape(0);
    const axis = axisIn(node, axisAttr, dims.length);
    const total = dims[axis];
    let sizes = sizesOf(ctx);
    if (!sizes && attrInt(node, 'num_outputs') !== undefined) {
      const chunk = Math.ceil(total / outputs);
      sizes = Array.from({ length: outputs }, (_, i) => Math.max(Math.min(chunk, total - i * chunk), 0));
    }
    sizes ??= total % outputs === 0 ? new Array<number>(outputs).fill(total / outputs) : undefined;
    if (!sizes || sizes.length !== outputs || sizes.reduce((a, b) => a + b, 0) !== total) {
      throw new OtocError(`node ${node.label()}: cannot split ${total} elements into ${outputs} outputs`);
    }
    const order = ctx.order(0);
    return tf.split(ctx.input(0, order), sizes, heldAxis(axis, dims.length, order)).map((t) => held(t, order));
  };
};

/**
 * Slice: starts, ends, axes and steps are attributes before opset 10, inputs 1–4 from then on.
 * Unit steps are one tfjs slice; other steps gather the indices ONNX's clamping rules pick
 * (tf.stridedSlice has no gradient).
 */
const sliceTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, n.opset < 10 ? ['starts', 'ends', 'axes'] : []);
  const [startsOf, endsOf, axesOf, stepsOf] = ['starts', 'ends', 'axes', 'steps'].map((name, i) => listOperand(n, name, 10, i + 1));
  return (ctx) => {
    const dims = ctx.shape(0);
    const [starts, ends] = [startsOf(ctx), endsOf(ctx)];
    if (!starts || !ends || starts.length !== ends.length) throw new OtocError(`node ${node.label()}: starts and ends do not match`);
    const axes = (axesOf(ctx) ?? starts.map((_, i) => i)).map((a) => axisIn(node, a, dims.length));
    const steps = stepsOf(ctx) ?? starts.map(() => 1);
    if (steps.includes(0)) throw new OtocError(`node ${node.label()}: step 0`);
    const order = ctx.order(0);
    const begin = dims.map(() => 0);
    const size = heldDims(dims, order);
    const gathers: [number, number[]][] = [];
    axes.forEach((axis, i) => {
      const picked = sliceIndices(dims[axis], starts[i], ends[i], steps[i]);
      const at = heldAxis(axis, dims.length, order);
      if (steps[i] === 1) {
        begin[at] = picked[0] ?? 0;
        size[at] = picked.length;
      } else gathers.push([at, picked]);
    });
    let y = tf.slice(ctx.input(0, order), begin, size);
    for (const [at, picked] of gathers) y = pickAlong(y, picked, at);
    return [held(y, order)];
  };
};

/** The dims of a tensor of ONNX `dims` held in `order`. */
function heldDims(dims: number[], order: AxisOrder): number[] {
  const rank = dims.length;
  const out = [...dims];
  dims.forEach((d, axis) => (out[heldAxis(axis, rank, order)] = d));
  return out;
}

/** Gather along `axis`: the data's dims before and after it around the indices' dims; negative indices count from the end. */
const gatherTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['axis']);
  const axisAttr = attrInt(n.node, 'axis', 0);
  return (ctx) => {
    const x = ctx.input(0);
    const axis = axisIn(n.node, axisAttr, x.rank);
    const indices = ctx.input(1);
    const flat = tf.reshape(tf.cast(indices, 'int32'), [-1]) as tf.Tensor1D;
    const wrapped = tf.where(tf.less(flat, 0), tf.add(flat, tf.scalar(x.shape[axis], 'int32')), flat) as tf.Tensor1D;
    const picked = gatherAlong(x, wrapped, axis);
    return [onnxOrder(tf.reshape(picked, [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)]))];
  };
};

/** The tfjs rules of Concat, Split, Slice and Gather, by op type. */
export const indexingRules: TfjsRules = {
  Concat: concatTfjs,
  Split: splitTfjs,
  Slice: sliceTfjs,
  Gather: gatherTfjs,
};
