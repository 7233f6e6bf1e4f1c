/** Channel rules and prune rewrites of the ops that move channels between axes: the Reshape family, Transpose, Pad. */
import { attrFloat, attrInts, attrString } from '../../ir/attributes.js';
import type { Shape } from '../../ir/types.js';
import { ChannelContext, ChannelRule, Layout, PruneRule, derive, elementAt, indexOf, keptCount, layoutSize, pinInputs } from '../channel-rules.js';
import { numbers } from '../values.js';

/** Consecutive input axes and output axes that hold the same elements (equal products). */
interface AxisGroup {
  in: number[];
  out: number[];
}

/** Consecutive axes of one side of a reshape, taken from `at` on, and the product of their dims. */
interface Run {
  dims: Shape;
  at: number;
  product: number;
  axes: number[];
}

/** Takes the next axis into `run`; false when there is none or its size is unknown or 0. */
function extend(run: Run): boolean {
  const d = run.dims[run.at];
  if (typeof d !== 'number' || d === 0) return false;
  run.product *= d;
  run.axes.push(run.at++);
  return true;
}

/** Match the axes of a reshape, or undefined when the dims are not known well enough. */
export function matchAxes(from: Shape, to: Shape): AxisGroup[] | undefined {
  const groups: AxisGroup[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    const a = from[i];
    const b = to[j];
    if (typeof a === 'string' || typeof b === 'string') {
      // A unit axis beside a symbolic one (Squeeze of [seq, 1, batch, H]) holds no elements of its own.
      if (a === 1) {
        groups.push({ in: [i++], out: [] });
        continue;
      }
      if (b === 1) {
        groups.push({ in: [], out: [j++] });
        continue;
      }
      if (a !== b) return undefined;
      groups.push({ in: [i++], out: [j++] });
      continue;
    }
    const input: Run = { dims: from, at: i, product: 1, axes: [] };
    const output: Run = { dims: to, at: j, product: 1, axes: [] };
    for (const run of [input, output]) if (run.at < run.dims.length && !extend(run)) return undefined;
    while (input.product !== output.product) if (!extend(input.product < output.product ? input : output)) return undefined;
    groups.push({ in: input.axes, out: output.axes });
    [i, j] = [input.at, output.at];
  }
  return groups;
}

/**
 * Reshape, Flatten, Squeeze, Unsqueeze: each output element is the input element at the same
 * row-major position. Merging the channel axis with others (Flatten into Gemm) gives one element
 * per feature, tied to its channel: a block map when the channel is the outer axis, a strided
 * one when it is the inner. Splitting one channel axis into several (D → heads × head_dim)
 * makes the outer index (the head) the unit, so the split stays a product of sizes.
 */
export const reshapeChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const from = ctx.facts.input(0)?.shape;
  const to = ctx.facts.output(0)?.shape;
  const groups = from && to ? matchAxes(from, to) : undefined;
  if (!groups || !to) return pinInputs(ctx, `${ctx.node.label()} reshapes channels to a shape otoc cannot follow`);
  const used = groups.filter((g) => g.in.some((a) => l.axes.includes(a)));
  if (used.some((g) => g.out.length === 0)) return pinInputs(ctx, `${ctx.node.label()} removes a channel axis`);
  const outAxes = used.flatMap((g) => g.out);
  const sizes = outAxes.map((x) => to[x] as number);
  const inSizes = (from as number[]).slice();
  const out = ctx.create(0, outAxes, sizes, (k) => ctx.isZero(sourceOf(k)));

  function sourceOf(k: number): number {
    const outIndex = indexOf({ axes: outAxes, sizes, base: 0 }, k);
    const inIndex = new Array<number>(l!.axes.length);
    let at = 0;
    for (const g of used) {
      let flat = 0;
      for (const x of g.out) flat = flat * (to![x] as number) + outIndex[at++];
      for (let p = g.in.length - 1; p >= 0; p--) {
        const axis = g.in[p];
        const pos = l!.axes.indexOf(axis);
        if (pos >= 0) inIndex[pos] = flat % inSizes[axis];
        flat = Math.floor(flat / inSizes[axis]);
      }
    }
    return elementAt(l!, inIndex);
  }

  for (let k = 0; k < layoutSize(out); k++) ctx.union(out.base + k, sourceOf(k));
  for (const g of used) tieSplitChannel(ctx, out, g, l);
};

/** When one channel axis is split over several output axes, tie all elements that share the outer index. */
function tieSplitChannel(ctx: ChannelContext, out: Layout, g: AxisGroup, input: Layout): void {
  const splitOut = g.out.filter((x) => out.sizes[out.axes.indexOf(x)] > 1);
  const channelAxes = g.in.filter((a) => input.axes.includes(a));
  if (splitOut.length < 2 || channelAxes.length !== 1) return;
  const outer = out.axes.indexOf(splitOut[0]);
  const first = new Map<number, number>();
  for (let k = 0; k < layoutSize(out); k++) {
    const head = indexOf(out, k)[outer];
    const e = first.get(head);
    if (e === undefined) first.set(head, out.base + k);
    else ctx.union(e, out.base + k);
  }
}

/** Reshape: as the reshape family, when the target shape is a constant that pruning can rewrite. */
export const reshapeTargetChannels: ChannelRule = (ctx) => {
  if (ctx.inputLayout(0) && !ctx.node.input(1)?.isConstant) {
    return pinInputs(ctx, `${ctx.node.label()} computes its target shape at run time`);
  }
  reshapeChannels(ctx);
};

/** Reshape: every explicit target dim on a pruned axis becomes the kept count (0 and -1 stay). */
export const reshapePrune: PruneRule = (ctx) => {
  const out = ctx.keptOut(0);
  const target = numbers(ctx.facts.input(1));
  if (!out || !target) return;
  ctx.replaceIntInput(
    1,
    target.map((d, axis) => (d > 0 ? keptCount(out, axis) ?? d : d)),
  );
};

export const transposeChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const rank = ctx.facts.input(0)?.shape?.length;
  if (rank === undefined) return pinInputs(ctx, `${ctx.node.label()} has an input of unknown rank`);
  const perm = attrInts(ctx.node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  const outAxes = l.axes.map((a) => perm.indexOf(a)).sort((x, y) => x - y);
  const sizes = outAxes.map((x) => l.sizes[l.axes.indexOf(perm[x])]);
  const sourceOf = (k: number) => {
    const outIndex = indexOf({ axes: outAxes, sizes, base: 0 }, k);
    return elementAt(l, l.axes.map((a) => outIndex[outAxes.indexOf(perm.indexOf(a))]));
  };
  const out = ctx.create(0, outAxes, sizes, (k) => ctx.isZero(sourceOf(k)));
  for (let k = 0; k < layoutSize(out); k++) ctx.union(out.base + k, sourceOf(k));
};

/** Pad keeps zero channels zero when it pads no channel axis and fills with 0 (or reflects/repeats edges). */
export const padChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const rank = ctx.facts.input(0)?.shape?.length ?? 0;
  const pads = ctx.facts.opset < 11 ? attrInts(ctx.node, 'pads') : numbers(ctx.facts.input(1));
  const axesInput = ctx.facts.opset >= 18 ? numbers(ctx.facts.input(3)) : undefined;
  if (!pads || (ctx.node.input(3) && !axesInput)) return pinInputs(ctx, `${ctx.node.label()} has unknown pads`);
  const axes = axesInput?.map((a) => (a < 0 ? a + rank : a)) ?? Array.from({ length: rank }, (_, i) => i);
  const padsChannel = axes.some((axis, i) => l.axes.includes(axis) && (pads[i] !== 0 || pads[i + axes.length] !== 0));
  if (padsChannel) return pinInputs(ctx, `${ctx.node.label()} pads a channel axis`);
  const mode = attrString(ctx.node, 'mode', 'constant');
  const fill = ctx.facts.opset < 11 ? [attrFloat(ctx.node, 'value', 0)] : ctx.node.input(2) ? numbers(ctx.facts.input(2)) : [0];
  const keepsZero = mode !== 'constant' || (fill !== undefined && fill.every((v) => v === 0));
  derive(ctx, l, 0, l.axes, (z) => z && keepsZero);
};
