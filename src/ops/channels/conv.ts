/** Channel rules and prune rewrites of Conv and ConvTranspose: their weights create channels. */
import { attrInt, attrInts } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import { ChannelContext, ChannelRule, Layout, PruneRule, keptCount, pinInputs } from '../channel-rules.js';

/**
 * Output channels of a stem: `count` channels on `axis`, each owning slice `o` of the weight
 * (axis `weightAxis`) and of a per-channel bias when there is one. With groups, local index j
 * is tied across the G blocks so every block keeps the same size.
 */
function createStemOutput(
  ctx: ChannelContext,
  axis: number,
  count: number,
  groups: number,
  weightAxis: number,
  weightIndex: (o: number) => number,
  biasInput: number | undefined,
): Layout {
  const out = ctx.create(0, [axis], [count], () => true);
  const perGroup = count / groups;
  for (let o = 0; o < count; o++) {
    ctx.attach('stem', out.base + o, 1, weightAxis, weightIndex(o));
    if (biasInput !== undefined) ctx.attach('param', out.base + o, biasInput, 0, o);
    if (o >= perGroup) ctx.union(out.base + o, out.base + (o % perGroup));
  }
  return out;
}

/** Input channels read by a stem's weight along `weightAxis`; with groups, tie local indices across blocks. */
function consumeInput(ctx: ChannelContext, input: Layout, groups: number, weightAxis: number, sliceOf: (c: number) => number): void {
  const count = input.sizes[0];
  const perGroup = count / groups;
  for (let c = 0; c < count; c++) {
    ctx.attach('consumer', input.base + c, 1, weightAxis, sliceOf(c));
    if (c >= perGroup) ctx.union(input.base + c, input.base + (c % perGroup));
  }
}

interface ConvWeights {
  /** W's static dims. */
  dims: number[];
  group: number;
  /** Input index of the per-channel bias, when there is one. */
  bias: number | undefined;
}

/** A conv's constant weight and optional constant bias; otherwise the conv is pinned and undefined returned. */
function convWeights(ctx: ChannelContext): ConvWeights | undefined {
  const dims = ctx.facts.input(1)?.shape;
  const bias = ctx.node.input(2);
  if (!ctx.node.input(1)?.isConstant || !dims?.every((d) => typeof d === 'number') || (bias && !bias.isConstant)) {
    pinInputs(ctx, `${ctx.node.label()} has a computed weight or bias`);
    return undefined;
  }
  return { dims: dims as number[], group: attrInt(ctx.node, 'group', 1), bias: bias ? 2 : undefined };
}

export const convChannels: ChannelRule = (ctx) => {
  const w = convWeights(ctx);
  if (!w) return;
  const { group, bias } = w;
  const [outChannels, inPerGroup] = w.dims;
  const input = ctx.inputLayout(0);
  const inputOnChannelAxis = input && input.axes.length === 1 && input.axes[0] === 1;
  if (input && !inputOnChannelAxis) pinInputs(ctx, `${ctx.node.label()} reads channels on an axis other than 1`);

  // Depthwise conv on tracked channels: input channel c feeds outputs [c·m, (c+1)·m) only, so
  // whole groups go with their input channel and `group` is rewritten to the new count.
  if (group > 1 && inPerGroup === 1 && inputOnChannelAxis && input.sizes[0] === group) {
    const multiplier = outChannels / group;
    const out = ctx.create(0, [1], [outChannels], () => true);
    for (let o = 0; o < outChannels; o++) {
      ctx.attach('stem', out.base + o, 1, 0, o);
      if (bias !== undefined) ctx.attach('param', out.base + o, bias, 0, o);
      ctx.union(out.base + o, input.base + Math.floor(o / multiplier));
    }
    return;
  }
  createStemOutput(ctx, 1, outChannels, group, 0, (o) => o, bias);
  if (inputOnChannelAxis) consumeInput(ctx, input, group, 1, (c) => c % inPerGroup);
};

/**
 * ConvTranspose: W is [C_in, C_out/group, k...]; output channel o = (g, j) lives in column j.
 * Depthwise (one input channel per group): input channel g makes outputs [g·m, (g+1)·m) from row
 * g of W alone, so the whole group goes with its input channel and `group` is rewritten.
 */
export const convTransposeChannels: ChannelRule = (ctx) => {
  const w = convWeights(ctx);
  if (!w) return;
  const [inChannels, outPerGroup] = w.dims;
  const input = ctx.inputLayout(0);
  const inputOnChannelAxis = input && input.axes.length === 1 && input.axes[0] === 1;
  if (input && !inputOnChannelAxis) pinInputs(ctx, `${ctx.node.label()} reads channels on an axis other than 1`);
  if (w.group > 1 && inChannels === w.group && inputOnChannelAxis && input.sizes[0] === w.group) {
    const out = ctx.create(0, [1], [outPerGroup * w.group], () => true);
    for (let o = 0; o < outPerGroup * w.group; o++) {
      const g = Math.floor(o / outPerGroup);
      ctx.attach('stem', out.base + o, 1, 0, g);
      if (w.bias !== undefined) ctx.attach('param', out.base + o, w.bias, 0, o);
      ctx.union(out.base + o, input.base + g);
    }
    return;
  }
  createStemOutput(ctx, 1, outPerGroup * w.group, w.group, 1, (o) => o % outPerGroup, w.bias);
  if (inputOnChannelAxis) consumeInput(ctx, input, w.group, 0, (c) => c);
};

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
