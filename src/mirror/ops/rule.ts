import type * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrInts } from '../../ir/attributes.js';
import { DataType } from '../../ir/dtype.js';
import type { Node } from '../../ir/graph.js';
import type { Tensor } from '../../ir/tensor.js';
import type { NodeFacts } from '../../ops/spec.js';

/**
 * The axis order the mirror holds a tensor in: ONNX's own, or channels-last, where ONNX
 * [N, C, d1, …, dk] is held as [N, d1, …, dk, C] (what tfjs convolutions and pools take).
 * Tensors of rank below 3 are always held in ONNX order.
 */
export type AxisOrder = 'onnx' | 'channelsLast';

/** A tensor as the mirror holds it. */
export interface Held {
  readonly tensor: tf.Tensor;
  readonly order: AxisOrder;
}

/** What a kernel may read and do while the mirror runs one node. */
export interface TfjsContext {
  /** Training mode: batch statistics, active Dropout. */
  readonly training: boolean;
  /** Seed for this node's random draws (Dropout), or undefined for fresh randomness. */
  readonly seed: number | undefined;
  /** Set while running statistics are re-estimated (ForwardOptions.statisticsMomentum). */
  readonly statisticsMomentum: number | undefined;
  /** Whether input `index` is given (not absent or omitted). */
  has(index: number): boolean;
  /**
   * Input `index` in axis order `order` (default ONNX). With `rank`, a lower-rank input first gets
   * leading unit axes, as numpy broadcasting aligns it, so it broadcasts in either order.
   */
  input(index: number, order?: AxisOrder, rank?: number): tf.Tensor;
  /** The axis order input `index` is held in. */
  order(index: number): AxisOrder;
  /** ONNX dims of input `index`, without converting it. */
  shape(index: number): number[];
  /** The elements of a small input (shapes, axes, pads, scales): folded when constant, else read from the tensor. */
  values(index: number): number[];
  /** Training mode or re-estimation: the new value of the running statistic at input `index`, kept once the forward pass ends. */
  setBuffer(index: number, value: tf.Tensor): void;
}

/** Runs one node: its outputs in order, undefined for an output it does not compute. */
export type TfjsKernel = (ctx: TfjsContext) => (Held | undefined)[];

/** What a rule may use while the mirror is built. */
export interface TfjsBuild {
  /** A tfjs tensor of a constant, owned by the mirror (disposed with it). */
  constant(t: Tensor): tf.Tensor;
}

/**
 * How the mirror computes an op with tfjs: given the node and what is known statically, check the
 * attributes and return the kernel. An attribute combination it does not implement throws
 * `unsupported`, so the mirror never computes something other than ONNX's definition.
 */
export type TfjsRule = (node: NodeFacts, build: TfjsBuild) => TfjsKernel;

/** One op family's rules, by ONNX op type (default domain); src/mirror/ops/registry.ts registers them. */
export type TfjsRules = Readonly<Record<string, TfjsRule>>;

export function unsupported(node: Node, what: string): OtocError {
  return new OtocError(`node ${node.label()}: unsupported by the tfjs mirror: ${what}`);
}

/** Refuses attributes a rule does not know: an unknown attribute could change the result. */
export function acceptAttributes(node: Node, known: readonly string[]): void {
  for (const name of node.attributes.keys()) {
    if (!known.includes(name)) throw unsupported(node, `attribute '${name}'`);
  }
}

export const onnxOrder = (tensor: tf.Tensor): Held => ({ tensor, order: 'onnx' });
export const channelsLast = (tensor: tf.Tensor): Held => ({ tensor, order: 'channelsLast' });
export const held = (tensor: tf.Tensor, order: AxisOrder): Held => ({ tensor, order });

/** The channels-last order of `rank` axes as a permutation of ONNX axes: [0, 2, …, rank−1, 1]. */
export function channelsLastPerm(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

/** The inverse of channelsLastPerm: [0, rank−1, 1, …, rank−2]. */
export function onnxPerm(rank: number): number[] {
  return [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
}

/** Where ONNX axis `axis` (non-negative) sits in a tensor of `rank` held in `order`. */
export function heldAxis(axis: number, rank: number, order: AxisOrder): number {
  if (order === 'onnx' || rank < 3 || axis === 0) return axis;
  return axis === 1 ? rank - 1 : axis - 1;
}

/** ONNX dims of a tensor held in `order`. */
export function onnxDims(shape: readonly number[], order: AxisOrder): number[] {
  return order === 'onnx' || shape.length < 3 ? [...shape] : onnxPerm(shape.length).map((a) => shape[a]);
}

/** `axis` in [−rank, rank) as a non-negative index; anything else is a malformed node. */
export function axisIn(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new OtocError(`node ${node.label()}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * The order an element-wise op over `inputs` runs in: channels-last when an input of the full
 * output rank is held so (the others are cheap to bring along: constants, broadcast vectors),
 * else ONNX order. Returns the order and the output rank.
 */
export function broadcastOrder(ctx: TfjsContext, inputs: readonly number[]): { order: AxisOrder; rank: number } {
  const present = inputs.filter((i) => ctx.has(i));
  const rank = Math.max(...present.map((i) => ctx.shape(i).length));
  const order = present.some((i) => ctx.order(i) === 'channelsLast' && ctx.shape(i).length === rank) ? 'channelsLast' : 'onnx';
  return { order, rank };
}

/** A list operand that is an attribute before opset `inputSince` and input `index` from then on; undefined when absent. */
export function listOperand(n: NodeFacts, name: string, inputSince: number, index: number): (ctx: TfjsContext) => number[] | undefined {
  if (n.opset < inputSince) {
    const fixed = attrInts(n.node, name);
    return () => fixed;
  }
  return (ctx) => (ctx.has(index) ? ctx.values(index) : undefined);
}

/**
 * The tfjs type that stands for an ONNX type in the mirror: floats compute in float32, integers
 * in int32 (shape arithmetic), bool as bool. Undefined for types it does not represent.
 */
export function tfjsType(type: DataType): tf.DataType | undefined {
  switch (type) {
    case DataType.FLOAT:
    case DataType.DOUBLE:
      return 'float32';
    case DataType.INT32:
    case DataType.INT64:
      return 'int32';
    case DataType.BOOL:
      return 'bool';
    default:
      return undefined;
  }
}
