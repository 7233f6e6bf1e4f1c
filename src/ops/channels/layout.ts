/** Channel rules of ops that move channels between axes or offsets: Reshape family, Transpose, Concat, Split, Slice. */
import { attrInt, attrInts } from '../../ir/attributes.js';
import type { Shape } from '../../ir/types.js';
import { ChannelContext, ChannelRule, Layout, derive, elementAt, indexOf, layoutSize, pinInputs } from '../channel-rules.js';
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

/** The node's `axis` attribute normalized against the rank of input `of` (the output's by default). */
function axisAttr(ctx: ChannelContext, fallback: number, of?: number): number | undefined {
  const rank = (of === undefined ? ctx.facts.output(0) : ctx.facts.input(of))?.shape?.length;
  if (rank === undefined) return undefined;
  const a = attrInt(ctx.node, 'axis', fallback);
  return a < 0 ? a + rank : a;
}

/**
 * Concat along a channel axis gives a composite space: input k occupies offsets [o_k, o_k + C_k).
 * Inputs without tracked channels get fresh channels that cannot be pruned. Concat along another
 * axis ties the inputs' channels (a joint op).
 */
export const concatChannels: ChannelRule = (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => ctx.inputLayout(i));
  if (inputs.every((l) => !l)) return;
  const axis = axisAttr(ctx, 0);
  const outShape = ctx.facts.output(0)?.shape;
  if (axis === undefined || !outShape) return pinInputs(ctx, `${ctx.node.label()} has an unknown axis`);
  const onAxis = inputs.some((l) => l?.axes.includes(axis));
  if (!onAxis) {
    const first = inputs.find((l) => l)!;
    if (inputs.some((l) => !l || l.axes.join() !== first.axes.join() || l.sizes.join() !== first.sizes.join())) {
      return pinInputs(ctx, `${ctx.node.label()} joins tensors whose channels differ`);
    }
    const out = ctx.create(0, [...first.axes], [...first.sizes], (k) => inputs.every((l) => ctx.isZero(l!.base + k)));
    for (const l of inputs) for (let k = 0; k < layoutSize(out); k++) ctx.union(out.base + k, l!.base + k);
    return;
  }
  if (inputs.some((l) => l && (l.axes.length !== 1 || l.axes[0] !== axis))) {
    return pinInputs(ctx, `${ctx.node.label()} concatenates tensors with channels on several axes`);
  }
  const lengths = ctx.node.inputs.map((_, i) => ctx.facts.input(i)?.shape?.[axis]);
  if (!lengths.every((n): n is number => typeof n === 'number')) return pinInputs(ctx, `${ctx.node.label()} has unknown sizes`);
  const owner: { layout: Layout | undefined; offset: number }[] = [];
  lengths.forEach((n, i) => {
    for (let c = 0; c < n; c++) owner.push({ layout: inputs[i], offset: c });
  });
  const out = ctx.create(0, [axis], [owner.length], (k) => {
    const { layout, offset } = owner[k];
    return layout !== undefined && ctx.isZero(layout.base + offset);
  });
  owner.forEach(({ layout, offset }, k) => {
    if (layout) ctx.union(out.base + k, layout.base + offset);
    else ctx.pin(out.base + k, `channel comes from an input of ${ctx.node.label()} whose channels otoc does not track`);
  });
};

/** Split along a channel axis: output k takes the input's channels at its offsets. */
export const splitChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const axis = axisAttr(ctx, 0);
  if (axis === undefined) return pinInputs(ctx, `${ctx.node.label()} has an unknown axis`);
  if (!l.axes.includes(axis)) {
    ctx.node.outputs.forEach((v, i) => v && derive(ctx, l, i));
    return;
  }
  if (l.axes.length !== 1) return pinInputs(ctx, `${ctx.node.label()} splits channels spread over several axes`);
  let offset = 0;
  for (let i = 0; i < ctx.node.outputs.length; i++) {
    const n = ctx.facts.output(i)?.shape?.[axis];
    if (typeof n !== 'number') return pinInputs(ctx, `${ctx.node.label()} has unknown split sizes`);
    selectChannels(ctx, l, i, axis, offset, n);
    offset += n;
  }
};

/** Output `out` carries channels [start, start + count) of `l` on `axis`. */
function selectChannels(ctx: ChannelContext, l: Layout, out: number, axis: number, start: number, count: number): void {
  const o = ctx.create(out, [axis], [count], (c) => ctx.isZero(l.base + start + c));
  for (let c = 0; c < count; c++) ctx.union(o.base + c, l.base + start + c);
}

/** Slice with step 1 on a channel axis selects a contiguous range of channels; other axes pass through. */
export const sliceChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const inShape = ctx.facts.input(0)?.shape;
  const rank = inShape?.length;
  const fromInputs = ctx.facts.opset >= 10;
  const starts = fromInputs ? numbers(ctx.facts.input(1)) : attrInts(ctx.node, 'starts');
  const axesRaw = fromInputs ? (ctx.node.input(3) ? numbers(ctx.facts.input(3)) : starts?.map((_, i) => i)) : attrInts(ctx.node, 'axes', starts?.map((_, i) => i) ?? []);
  const steps = fromInputs && ctx.node.input(4) ? numbers(ctx.facts.input(4)) : starts?.map(() => 1);
  if (!inShape || rank === undefined || !starts || !axesRaw || !steps) return pinInputs(ctx, `${ctx.node.label()} has unknown slice bounds`);
  const axes = axesRaw.map((a) => (a < 0 ? a + rank : a));
  const onChannels = axes.map((a, i) => ({ a, i })).filter(({ a }) => l.axes.includes(a));
  if (onChannels.length === 0) return void derive(ctx, l);
  if (l.axes.length !== 1 || onChannels.length !== 1 || steps[onChannels[0].i] !== 1) {
    return pinInputs(ctx, `${ctx.node.label()} slices channels with a step or on several axes`);
  }
  const axis = onChannels[0].a;
  const size = l.sizes[0];
  const raw = starts[onChannels[0].i];
  const start = Math.min(Math.max(raw < 0 ? raw + size : raw, 0), size);
  const count = ctx.facts.output(0)?.shape?.[axis];
  if (typeof count !== 'number') return pinInputs(ctx, `${ctx.node.label()} has an unknown output size`);
  selectChannels(ctx, l, 0, axis, start, count);
};

/** Reshape: as the reshape family, when the target shape is a constant that pruning can rewrite. */
export const reshapeTargetChannels: ChannelRule = (ctx) => {
  if (ctx.inputLayout(0) && !ctx.node.input(1)?.isConstant) {
    return pinInputs(ctx, `${ctx.node.label()} computes its target shape at run time`);
  }
  reshapeChannels(ctx);
};

/** Gather along an axis without channels: the channel axes move with the axes around it. */
export const gatherChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const axis = axisAttr(ctx, 0, 0);
  const indicesRank = ctx.facts.input(1)?.shape?.length;
  if (axis === undefined || indicesRank === undefined || l.axes.includes(axis)) {
    return pinInputs(ctx, `${ctx.node.label()} gathers along a channel axis`);
  }
  derive(ctx, l, 0, l.axes.map((x) => (x > axis ? x - 1 + indicesRank : x)));
};
