import { DataType } from '../ir/dtype.js';
import { attrInt, attrInts } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { checkedAxis, facts, invalidNode } from './rules.js';
import type { NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { numbers, scalar } from './values.js';
import { reduceChannels } from './channels/reduce.js';

/** Reduced axes set to 1 (keepdims) or dropped. */
function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): Shape {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/**
 * ReduceX: axes are an attribute until `axesInputSince` (ReduceSum 13, the others 18), an
 * input from then on. No axes reduce everything, unless noop_with_empty_axes makes it the identity.
 */
function reduce(axesInputSince: number): ShapeRule {
  return (n) => {
    const x = n.input(0);
    if (!x) return [undefined];
    if (!x.shape) return [{ elemType: x.elemType }];
    const rank = x.shape.length;
    const keepDims = attrInt(n.node, 'keepdims', 1) !== 0;
    const axesInput = n.opset >= axesInputSince && n.node.input(1) !== undefined;
    const given = axesInput ? numbers(n.input(1)) : attrInts(n.node, 'axes');
    if (axesInput && given === undefined) {
      // Which axes is unknown, but with keepdims the rank is not.
      return [facts(x.elemType, keepDims ? x.shape.map(() => null) : undefined)];
    }
    if (!given || given.length === 0) {
      const noop = n.opset >= axesInputSince && attrInt(n.node, 'noop_with_empty_axes', 0) !== 0;
      return [facts(x.elemType, noop ? x.shape : reducedShape(x.shape, x.shape.map((_, i) => i), keepDims))];
    }
    // onnxruntime reduces a repeated axis once.
    const axes = [...new Set(given.map((a) => checkedAxis(n, a, rank, 'axis')))];
    return [facts(x.elemType, reducedShape(x.shape, axes, keepDims))];
  };
}

/** ArgMax/ArgMin: int64 indices along one axis. */
const argReduce: ShapeRule = (n) => {
  const shape = n.input(0)?.shape;
  const axis = shape && checkedAxis(n, attrInt(n.node, 'axis', 0), shape.length);
  const keepDims = attrInt(n.node, 'keepdims', 1) !== 0;
  return [facts(DataType.INT64, shape && axis !== undefined ? reducedShape(shape, [axis], keepDims) : undefined)];
};

/** TopK: values and int64 indices, with the axis cut to K (an attribute before opset 10, an input after). */
function topK(n: NodeFacts): ReturnType<ShapeRule> {
  const x = n.input(0);
  if (!x) return [undefined, undefined];
  const k = n.opset >= 10 ? scalar(n.input(1)) : attrInt(n.node, 'k');
  const axis = x.shape && checkedAxis(n, attrInt(n.node, 'axis', -1), x.shape.length);
  const size = axis === undefined ? undefined : x.shape?.[axis];
  if (k !== undefined && !(k >= 0 && (typeof size !== 'number' || k <= size))) {
    throw invalidNode(n.node, `k = ${k} is not in [0, ${size ?? '…'}], the size of the axis`);
  }
  const shape = x.shape && axis !== undefined ? x.shape.map((d, i) => (i === axis ? (k ?? null) : d)) : undefined;
  return [facts(x.elemType, shape), facts(DataType.INT64, shape)];
}

/** The opset from which ReduceX takes its axes as input 1 rather than an attribute: ReduceSum 13, the others 18. */
export function reduceAxesInputSince(opType: string): number {
  return opType === 'ReduceSum' ? 13 : 18;
}

/** The ReduceX ops, with whether reducing zeros gives zero. */
const REDUCE_OPS: [string, boolean][] = [
  ['ReduceMean', true],
  ['ReduceMax', true],
  ['ReduceMin', true],
  ['ReduceProd', true],
  ['ReduceL1', true],
  ['ReduceL2', true],
  ['ReduceLogSum', false],
  ['ReduceLogSumExp', false],
  ['ReduceSumSquare', true],
  ['ReduceSum', true],
];

export const reduceOps: OpSpec[] = [
  ...REDUCE_OPS.map(([opType, keepsZero]): OpSpec => {
    const since = reduceAxesInputSince(opType);
    return { opType, domain: '', infer: reduce(since), channels: reduceChannels(since, keepsZero) };
  }),
  { opType: 'ArgMax', domain: '', infer: argReduce },
  { opType: 'ArgMin', domain: '', infer: argReduce },
  { opType: 'TopK', domain: '', infer: topK },
];
