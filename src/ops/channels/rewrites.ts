/** Prune rewrites: what an op encodes about channel counts beyond its sliced weights. */
import { attrInt, attrInt64s, attrInts } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import type { KeptChannels, PruneRule } from '../channel-rules.js';
import { numbers } from '../values.js';

/** Kept count along the layout axis `axis` (a tensor axis), or undefined when it is not a layout axis. */
function keptCount(k: KeptChannels, axis: number): number | undefined {
  const at = k.layout.axes.indexOf(axis);
  return at < 0 ? undefined : k.kept[at].length;
}

/**
 * A depthwise conv (one input channel per group; `inputsPerGroup` reads that from W's dims) loses
 * whole groups with its input channels: `group` becomes the kept count.
 */
function depthwisePrune(inputsPerGroup: (weightDims: readonly (number | string | null)[], group: number) => unknown): PruneRule {
  return (ctx) => {
    const group = attrInt(ctx.node, 'group', 1);
    const input = ctx.keptIn(0);
    const weight = ctx.facts.input(1)?.shape;
    if (group > 1 && weight && inputsPerGroup(weight, group) === 1 && input && input.layout.sizes[0] === group) {
      setAttributes(ctx.node, { group: input.kept[0].length });
    }
  };
}

/** Conv: W is [M, C/group, k...]. */
export const convPrune = depthwisePrune((w) => w[1]);

/** ConvTranspose: W is [C, M/group, k...]; an output_shape that lists the channels too gets the kept count. */
export const convTransposePrune: PruneRule = (ctx) => {
  depthwisePrune((w, group) => (typeof w[0] === 'number' ? w[0] / group : undefined))(ctx);
  const outputShape = attrInts(ctx.node, 'output_shape');
  const out = ctx.keptOut(0);
  const rank = ctx.facts.input(0)?.shape?.length;
  if (!outputShape || !out || outputShape.length !== rank) return;
  const shape = outputShape.map((d, axis) => keptCount(out, axis) ?? d);
  setAttributes(ctx.node, { output_shape: shape });
};

/** GroupNormalization loses whole groups of channels: num_groups becomes the kept count over the group size. */
export const groupNormPrune: PruneRule = (ctx) => {
  const input = ctx.keptIn(0);
  const groups = attrInt(ctx.node, 'num_groups', 0);
  if (!input || groups < 1) return;
  const perGroup = input.layout.sizes[0] / groups;
  setAttributes(ctx.node, { num_groups: input.kept[0].length / perGroup });
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

/** Resize given explicit output sizes: the channel dims become the kept counts. */
export const resizePrune: PruneRule = (ctx) => {
  const out = ctx.keptOut(0);
  const sizes = numbers(ctx.facts.input(3));
  if (!out || !sizes || !ctx.node.input(3)) return;
  ctx.replaceIntInput(3, sizes.map((d, axis) => keptCount(out, axis) ?? d));
};
