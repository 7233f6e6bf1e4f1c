/** Channel rules and prune rewrites of the ops that select or join along an axis: Concat, Split, Slice, Gather. */
import { attrInt, attrInt64s, attrInts } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import { ChannelContext, ChannelRule, Layout, PruneRule, derive, keptCount, layoutSize, pinInputs } from '../channel-rules.js';
import { numbers } from '../values.js';

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

/** Split along a pruned axis: the sizes become the kept counts of each output. */
export const splitPrune: PruneRule = (ctx) => {
  const input = ctx.keptIn(0);
  const rank = ctx.facts.input(0)?.shape?.length ?? 0;
  const raw = attrInt(ctx.node, 'axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  if (!input || keptCount(input, axis) === undefined) return;
  const sizes = ctx.node.outputs.map((_, i) => {
    const out = ctx.keptOut(i);
    return out ? keptCount(out, axis)! : (ctx.facts.output(i)?.shape?.[axis] as number);
  });
  if (ctx.facts.opset < 13) {
    setAttributes(ctx.node, { split: sizes });
  } else {
    ctx.node.attributes.delete('num_outputs');
    ctx.replaceIntInput(1, sizes);
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

/** Slice on a pruned channel axis: the bounds move to the kept channels' new positions. */
export const slicePrune: PruneRule = (ctx) => {
  const input = ctx.keptIn(0);
  const out = ctx.keptOut(0);
  if (!input || !out) return;
  const axis = input.layout.axes[0];
  const fromInputs = ctx.facts.opset >= 10;
  const starts = fromInputs ? numbers(ctx.facts.input(1)) : attrInts(ctx.node, 'starts');
  const ends = fromInputs ? numbers(ctx.facts.input(2)) : attrInts(ctx.node, 'ends');
  const rank = ctx.facts.input(0)?.shape?.length ?? 0;
  const axesRaw = fromInputs ? (ctx.node.input(3) ? numbers(ctx.facts.input(3)) : starts?.map((_, i) => i)) : attrInts(ctx.node, 'axes', starts?.map((_, i) => i) ?? []);
  if (!starts || !ends || !axesRaw) return;
  const i = axesRaw.findIndex((a) => (a < 0 ? a + rank : a) === axis);
  if (i < 0) return;
  const size = input.layout.sizes[0];
  const start = Math.min(Math.max(starts[i] < 0 ? starts[i] + size : starts[i], 0), size);
  const newStart = input.kept[0].filter((c) => c < start).length;
  const newEnd = newStart + out.kept[0].length;
  if (fromInputs) {
    ctx.replaceIntInput(1, starts.map((s, k) => (k === i ? newStart : s)));
    ctx.replaceIntInput(2, ends.map((e, k) => (k === i ? newEnd : e)));
  } else {
    // The other axes' bounds stay exactly as they were (attrInts rounds beyond 2^53).
    const exact = (name: string, value: number) => attrInt64s(ctx.node, name)!.map((b, k) => (k === i ? BigInt(value) : b));
    setAttributes(ctx.node, { starts: exact('starts', newStart), ends: exact('ends', newEnd) });
  }
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
