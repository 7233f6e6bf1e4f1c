import type { Node } from '../ir/graph.js';
import type { Tensor } from '../ir/tensor.js';
import type { InferredNode } from './spec.js';

/**
 * How a parameter slice relates to a channel:
 * - `stem`: the output-channel slice of a weight that creates the channel (in the group vector);
 * - `param`: a per-channel parameter on the channel's path (BN scale/shift, bias; in the group vector);
 * - `follower`: a per-channel constant that is removed with the channel but need not be zero (a Mul scale);
 * - `consumer`: the input-channel slice of a weight that reads the channel (removed because its input is zero);
 * - `buffer`: per-channel state that is not learned (BN running mean/var), removed with the channel.
 */
export type SliceKind = 'stem' | 'param' | 'follower' | 'consumer' | 'buffer';

export const GROUP_VECTOR_KINDS: readonly SliceKind[] = ['stem', 'param'];

/**
 * The channel elements carried by a value: the tensor axes that hold channels (in axis order) and
 * their sizes; element k (row-major over those axes) has id `base + k`.
 */
export interface Layout {
  readonly axes: readonly number[];
  readonly sizes: readonly number[];
  readonly base: number;
}

export function layoutSize(l: Layout): number {
  return l.sizes.reduce((a, b) => a * b, 1);
}

/** What a channel rule may do while the analysis visits one node (in topological order). */
export interface ChannelContext {
  readonly node: Node;
  readonly facts: InferredNode;
  /** Channel layout of input `index`, undefined when it carries no tracked channels. */
  inputLayout(index: number): Layout | undefined;
  /** Fresh elements for output `index` on `axes`; `zero` says whether each is zero when its group is. */
  create(index: number, axes: number[], sizes: number[], zero: (k: number) => boolean): Layout;
  /** Tie two elements into one group: they must be pruned together. */
  union(a: number, b: number): void;
  /** Whether element `e` is exactly zero when every group-vector slice of its group is zero. */
  isZero(e: number): boolean;
  /** Record that slice `index` along `axis` of the initializer at input `input` goes with element `e`. */
  attach(kind: SliceKind, e: number, input: number, axis: number, index: number): void;
  /** Element `e`'s group can never be pruned, for `reason`. */
  pin(e: number, reason: string): void;
}

/** Declares how an op maps, creates, ties or blocks channels. Absent from an op's entry = not understood. */
export type ChannelRule = (ctx: ChannelContext) => void;

/** Every element of `l`'s ids. */
export function elementsOf(l: Layout): number[] {
  return Array.from({ length: layoutSize(l) }, (_, k) => l.base + k);
}

/** Pin every tracked channel of every input, for `reason`. */
export function pinInputs(ctx: ChannelContext, reason: string): void {
  ctx.node.inputs.forEach((_, i) => {
    const l = ctx.inputLayout(i);
    if (l) for (const e of elementsOf(l)) ctx.pin(e, reason);
  });
}

/** Output `out` carries input `from`'s channels on the same axes; `zero` maps the input element's zero flag. */
export function derive(
  ctx: ChannelContext,
  from: Layout,
  out = 0,
  axes: readonly number[] = from.axes,
  zero: (srcZero: boolean) => boolean = (z) => z,
): Layout {
  const l = ctx.create(out, [...axes], [...from.sizes], (k) => zero(ctx.isZero(from.base + k)));
  for (let k = 0; k < layoutSize(from); k++) ctx.union(l.base + k, from.base + k);
  return l;
}

/** Element-wise op f with f(0) = 0 (Relu, Tanh, Erf, Abs, MaxPool, ...): channels pass through. */
export const passThrough: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (l) derive(ctx, l);
};

/**
 * Element-wise op with f(0) ≠ 0 (Sigmoid, Exp, Cos, ...): channels pass through, but a zero group
 * is no longer zero after it, so anything that later removes the channel's consumers pins it.
 */
export const passNonZero: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (l) derive(ctx, l, 0, l.axes, () => false);
};

/** An op whose output mixes channels in a way pruning cannot follow. */
export function barrier(reason: string): ChannelRule {
  return (ctx) => pinInputs(ctx, `${reason} (${ctx.node.label()})`);
}

/** Static shape of input `index`, when every dim is a number. */
export function inputShape(ctx: ChannelContext, index: number): number[] | undefined {
  const s = ctx.facts.input(index)?.shape;
  return s && s.every((d): d is number => typeof d === 'number') ? s : undefined;
}

/** Shape of input `index` (dims may be symbolic or unknown). */
export function inputRank(ctx: ChannelContext, index: number): number | undefined {
  return ctx.facts.input(index)?.shape?.length;
}

/** Element id of `l` at `index` (one index per layout axis, row-major). */
export function elementAt(l: Layout, index: readonly number[]): number {
  let k = 0;
  for (let i = 0; i < l.sizes.length; i++) k = k * l.sizes[i] + index[i];
  return l.base + k;
}

/** Per-axis indices of element offset `k` of `l` (inverse of elementAt). */
export function indexOf(l: Layout, k: number): number[] {
  const index = new Array<number>(l.sizes.length);
  for (let i = l.sizes.length - 1; i >= 0; i--) {
    index[i] = k % l.sizes[i];
    k = Math.floor(k / l.sizes[i]);
  }
  return index;
}

/** Whether two layouts cover the same axes with the same sizes, so they can be unioned element by element. */
export function sameLayoutShape(a: Layout, b: Layout): boolean {
  return a.axes.length === b.axes.length && a.axes.every((x, i) => x === b.axes[i] && a.sizes[i] === b.sizes[i]);
}

/** A tracked value whose channels pruning changes: its layout and, per layout axis, the kept indices. */
export interface KeptChannels {
  layout: Layout;
  kept: number[][];
}

/** Kept count along the layout axis `axis` (a tensor axis), or undefined when it is not a layout axis. */
export function keptCount(k: KeptChannels, axis: number): number | undefined {
  const at = k.layout.axes.indexOf(axis);
  return at < 0 ? undefined : k.kept[at].length;
}

/** What a prune rewrite sees: the node before pruning, which channels stay, and a way to swap constants. */
export interface PruneContext {
  readonly node: Node;
  /** Facts from before pruning. */
  readonly facts: InferredNode;
  keptIn(index: number): KeptChannels | undefined;
  keptOut(index: number): KeptChannels | undefined;
  /** Feed input `index` from a new initializer holding `values` (the old constant may be shared). */
  replaceIntInput(index: number, values: number[]): void;
  /** Feed input `index` from a new initializer holding `tensor`. */
  replaceInput(index: number, tensor: Tensor): void;
}

/**
 * Rewrites what an op encodes about channel counts besides sliced weights (Conv `group`,
 * Reshape targets, Split sizes, Slice bounds). Called only for nodes that touch pruned channels.
 */
export type PruneRule = (ctx: PruneContext) => void;
