/** tfjs kernels of the ReduceX ops and ArgMax/ArgMin. */
import * as tf from '@tensorflow/tfjs';
import { attrInt } from '../../ir/attributes.js';
import { reduceAxesInputSince } from '../../ops/reduce.js';
import { AxisOrder, TfjsRule, TfjsRules, acceptAttributes, axisIn, heldAxis, held, listOperand, onnxOrder } from './rule.js';

type Reduction = (x: tf.Tensor, axes: number[], keepDims: boolean) => tf.Tensor;

const REDUCTIONS: Record<string, Reduction> = {
  ReduceMean: (x, axes, keep) => tf.mean(x, axes, keep),
  ReduceSum: (x, axes, keep) => tf.sum(x, axes, keep),
  ReduceMax: (x, axes, keep) => tf.max(x, axes, keep),
  ReduceMin: (x, axes, keep) => tf.min(x, axes, keep),
  ReduceProd: (x, axes, keep) => tf.prod(x, axes, keep),
  ReduceL1: (x, axes, keep) => tf.sum(tf.abs(x), axes, keep),
  ReduceL2: (x, axes, keep) => tf.sqrt(tf.sum(tf.square(x), axes, keep)),
  ReduceSumSquare: (x, axes, keep) => tf.sum(tf.square(x), axes, keep),
  ReduceLogSum: (x, axes, keep) => tf.log(tf.sum(x, axes, keep)),
  ReduceLogSumExp: (x, axes, keep) => tf.logSumExp(x, axes, keep),
};

/**
 * The order to reduce in. A channels-last input stays so when the dims are kept, or when the
 * axes that remain are in ONNX order anyway (reducing the spatial axes or the channels).
 */
function reductionOrder(held: AxisOrder, rank: number, axes: number[], keepDims: boolean): AxisOrder {
  if (held === 'onnx' || keepDims) return held;
  const remaining = Array.from({ length: rank }, (_, i) => i).filter((a) => !axes.includes(a));
  const positions = remaining.map((a) => heldAxis(a, rank, held));
  return positions.every((p, i) => i === 0 || p > positions[i - 1]) ? 'channelsLast' : 'onnx';
}

/**
 * ReduceX: axes are an attribute before `axesInputSince` (ReduceSum 13, the others 18) and
 * input 1 from then on; none means all, unless noop_with_empty_axes makes the op the identity.
 */
function reduceTfjs(axesInputSince: number, reduction: Reduction): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, ['keepdims', ...(n.opset < axesInputSince ? ['axes'] : ['noop_with_empty_axes'])]);
    const axesOf = listOperand(n, 'axes', axesInputSince, 1);
    const keepDims = attrInt(n.node, 'keepdims', 1) !== 0;
    const noop = attrInt(n.node, 'noop_with_empty_axes', 0) !== 0;
    return (ctx) => {
      const rank = ctx.shape(0).length;
      const given = axesOf(ctx) ?? [];
      if (given.length === 0 && noop) return [held(ctx.input(0, ctx.order(0)), ctx.order(0))];
      const axes = given.length ? given.map((a) => axisIn(n.node, a, rank)) : Array.from({ length: rank }, (_, i) => i);
      const order = reductionOrder(ctx.order(0), rank, axes, keepDims);
      const y = reduction(ctx.input(0, order), axes.map((a) => heldAxis(a, rank, order)), keepDims);
      // Without kept dims a channels-last input leaves its remaining axes in ONNX order.
      return [held(y, keepDims ? order : 'onnx')];
    };
  };
}

/** ArgMax / ArgMin along one axis: the first index on ties, or the last with select_last_index. */
function argReduceTfjs(fn: (x: tf.Tensor, axis: number) => tf.Tensor): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, ['axis', 'keepdims', 'select_last_index']);
    const axisAttr = attrInt(n.node, 'axis', 0);
    const keepDims = attrInt(n.node, 'keepdims', 1) !== 0;
    const last = attrInt(n.node, 'select_last_index', 0) !== 0;
    return (ctx) => {
      const x = ctx.input(0);
      const axis = axisIn(n.node, axisAttr, x.rank);
      // The last index of the extreme is the first one counted from the end.
      const y = last ? tf.sub(tf.scalar(x.shape[axis] - 1, 'int32'), fn(tf.reverse(x, axis), axis)) : fn(x, axis);
      return [onnxOrder(keepDims ? tf.expandDims(y, axis) : y)];
    };
  };
}

/** The tfjs rules of the ReduceX ops and ArgMax/ArgMin, by op type. */
export const reduceRules: TfjsRules = {
  ...Object.fromEntries(Object.entries(REDUCTIONS).map(([opType, reduction]) => [opType, reduceTfjs(reduceAxesInputSince(opType), reduction)])),
  ArgMax: argReduceTfjs(tf.argMax),
  ArgMin: argReduceTfjs(tf.argMin),
};
