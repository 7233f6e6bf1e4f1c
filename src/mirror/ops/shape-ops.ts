/** tfjs kernels of the ops that reshape, rearrange, pad or convert tensors. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { DataType } from '../../ir/dtype.js';
import { attrFloat, attrInt, attrInts, attrString } from '../../ir/attributes.js';
import { broadcastShapes } from '../../ops/shape-math.js';
import { pickAlong } from './gather-along.js';
import { TfjsContext, TfjsRule, TfjsRules, acceptAttributes, axisIn, heldAxis, held, listOperand, onnxOrder, tfjsType, unsupported } from './rule.js';

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Shape: the ONNX dims of the input (from opset 15, those in [start, end)) as int32. */
const shapeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['start', 'end']);
  return (ctx) => {
    const dims = ctx.shape(0);
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + dims.length : i, 0), dims.length);
    const picked = dims.slice(clamp(attrInt(n.node, 'start', 0)), clamp(attrInt(n.node, 'end', dims.length)));
    return [onnxOrder(tf.tensor1d(picked, 'int32'))];
  };
};

const sizeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => [onnxOrder(tf.scalar(product(ctx.shape(0)), 'int32'))];
};

/** Reshape: 0 copies the input's dim (unless allowzero), −1 is inferred. Before opset 5 the shape is an attribute. */
const reshapeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, n.opset < 5 ? ['shape'] : ['allowzero']);
  const targetOf = listOperand(n, 'shape', 5, 1);
  const allowZero = attrInt(n.node, 'allowzero', 0) !== 0;
  return (ctx) => {
    const x = ctx.input(0);
    const target = targetOf(ctx);
    if (!target) throw new OtocError(`node ${n.node.label()}: no target shape`);
    return [onnxOrder(tf.reshape(x, target.map((t, i) => (t === 0 && !allowZero ? x.shape[i] : t))))];
  };
};

/** Flatten: the dims before `axis` and those from it each merged into one. */
const flattenTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['axis']);
  const axisAttr = attrInt(n.node, 'axis', 1);
  return (ctx) => {
    const x = ctx.input(0);
    const axis = axisAttr < 0 ? axisAttr + x.rank : axisAttr;
    if (axis < 0 || axis > x.rank) throw new OtocError(`node ${n.node.label()}: axis ${axisAttr} for rank ${x.rank}`);
    return [onnxOrder(tf.reshape(x, [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))]))];
  };
};

/** Squeeze: the listed axes (attribute before opset 13, input after), or every dim that is 1. */
const squeezeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, n.opset < 13 ? ['axes'] : []);
  const axesOf = listOperand(n, 'axes', 13, 1);
  return (ctx) => {
    const x = ctx.input(0);
    const given = axesOf(ctx);
    const axes = given ? given.map((a) => axisIn(n.node, a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    if (axes.some((a) => x.shape[a] !== 1)) throw new OtocError(`node ${n.node.label()}: squeezes an axis that is not 1`);
    return [onnxOrder(tf.reshape(x, x.shape.filter((_, i) => !axes.includes(i))))];
  };
};

/** Unsqueeze: a 1 inserted at each listed axis, counted in the output's rank. */
const unsqueezeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, n.opset < 13 ? ['axes'] : []);
  const axesOf = listOperand(n, 'axes', 13, 1);
  return (ctx) => {
    const x = ctx.input(0);
    const given = axesOf(ctx);
    if (!given) throw new OtocError(`node ${n.node.label()}: no axes`);
    const rank = x.rank + given.length;
    const axes = given.map((a) => axisIn(n.node, a, rank));
    const rest = [...x.shape];
    return [onnxOrder(tf.reshape(x, Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!))))];
  };
};

/** Transpose: one tfjs transpose from the held order straight to the ONNX result. */
const transposeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['perm']);
  const permAttr = attrInts(n.node, 'perm');
  return (ctx) => {
    const rank = ctx.shape(0).length;
    const perm = permAttr ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const order = ctx.order(0);
    return [onnxOrder(tf.transpose(ctx.input(0, order), perm.map((a) => heldAxis(axisIn(n.node, a, rank), rank, order))))];
  };
};

/** Where each element of an axis of `size` grown by `before` and `after` reads, for edge and reflect padding. */
const PAD_SOURCES: Record<'edge' | 'reflect', (i: number, size: number) => number> = {
  edge: (i, size) => Math.min(Math.max(i, 0), size - 1),
  reflect: (i, size) => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i),
};

/**
 * Pad: pads (and the value) are attributes before opset 11, inputs after; from opset 18 they
 * may cover only `axes`. Negative pads crop. Modes constant, reflect and edge.
 */
const padTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, n.opset < 11 ? ['mode', 'pads', 'value'] : ['mode']);
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') throw unsupported(node, `mode '${mode}'`);
  const padsOf = listOperand(n, 'pads', 11, 1);
  const axesOf = (ctx: TfjsContext) => (n.opset >= 18 && ctx.has(3) ? ctx.values(3) : undefined);
  const valueOf = (ctx: TfjsContext) => (n.opset < 11 ? attrFloat(node, 'value', 0) : ctx.has(2) ? ctx.values(2)[0] : 0);
  return (ctx) => {
    const dims = ctx.shape(0);
    const rank = dims.length;
    const pads = padsOf(ctx);
    const axes = (axesOf(ctx) ?? dims.map((_, i) => i)).map((a) => axisIn(node, a, rank));
    if (!pads || pads.length !== 2 * axes.length) throw new OtocError(`node ${node.label()}: pads do not fit the axes`);
    const order = ctx.order(0);
    let x = ctx.input(0, order);
    const before = new Array<number>(rank).fill(0);
    const after = new Array<number>(rank).fill(0);
    axes.forEach((a, i) => {
      before[heldAxis(a, rank, order)] = pads[i];
      after[heldAxis(a, rank, order)] = pads[i + axes.length];
    });
    if (before.some((p) => p < 0) || after.some((p) => p < 0)) {
      const start = before.map((p) => Math.max(-p, 0));
      x = tf.slice(x, start, x.shape.map((d, i) => d - start[i] - Math.max(-after[i], 0)));
    }
    const grow = before.map((p, i): [number, number] => [Math.max(p, 0), Math.max(after[i], 0)]);
    if (grow.every(([b, e]) => b === 0 && e === 0)) return [held(x, order)];
    if (mode === 'constant') return [held(tf.pad(x, grow, valueOf(ctx)), order)];
    // Gathered rather than tf.mirrorPad, whose gradient drops what the reflection adds.
    const source = PAD_SOURCES[mode];
    grow.forEach(([b, e], axis) => {
      const size = x.shape[axis];
      if (mode === 'reflect' && Math.max(b, e) >= size) throw new OtocError(`node ${node.label()}: reflect pads wider than the axis`);
      if (b || e) x = pickAlong(x, Array.from({ length: size + b + e }, (_, i) => source(i - b, size)), axis);
    });
    return [held(x, order)];
  };
};

const tileTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => [onnxOrder(tf.tile(ctx.input(0), ctx.values(1)))];
};

/** Expand: broadcast the input and the target shape against each other. */
const expandTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => {
    const x = ctx.input(0);
    const shape = broadcastShapes([x.shape, ctx.values(1)]);
    if (!shape) throw new OtocError(`node ${n.node.label()}: [${x.shape}] does not broadcast to [${ctx.values(1)}]`);
    return [onnxOrder(tf.broadcastTo(x, shape as number[]))];
  };
};

/** Identity passes the tensor as it is held. */
const identityTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => [held(ctx.input(0, ctx.order(0)), ctx.order(0))];
};

/** Cast to float, int32/int64 (truncating) or bool; other targets would need rounding or wrapping tfjs lacks. */
const castTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['to', 'saturate']);
  const to = tfjsType(attrInt(n.node, 'to', DataType.UNDEFINED));
  if (!to) throw unsupported(n.node, `cast to data type ${attrInt(n.node, 'to', 0)}`);
  return (ctx) => [held(tf.cast(ctx.input(0, ctx.order(0)), to), ctx.order(0))];
};

/** The tfjs rules of the shape ops, by op type. */
export const shapeRules: TfjsRules = {
  Shape: shapeTfjs,
  Size: sizeTfjs,
  Reshape: reshapeTfjs,
  Flatten: flattenTfjs,
  Squeeze: squeezeTfjs,
  Unsqueeze: unsqueezeTfjs,
  Transpose: transposeTfjs,
  Pad: padTfjs,
  Tile: tileTfjs,
  Expand: expandTfjs,
  Identity: identityTfjs,
  Cast: castTfjs,
};
