/** Channel rules and prune rewrites of the normalizations, which act on each channel (or group of channels) separately. */
import { attrInt } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import { ChannelContext, ChannelRule, PruneRule, derive, inputRank, pinInputs } from '../channel-rules.js';
import { normalizeAxis } from '../shape-math.js';
import { numbers } from '../values.js';

/**
 * BatchNormalization / InstanceNormalization: y = scale·x̂ + B per channel on axis 1. With
 * scale[c] = B[c] = 0 the channel is 0 whatever x is, so both join the group vector; BN running
 * statistics are buffers removed along.
 */
function normalizationChannels(buffers: number[]): ChannelRule {
  return (ctx) => {
    const l = ctx.inputLayout(0);
    if (!l) return;
    if (l.axes.length !== 1 || l.axes[0] !== 1) return pinInputs(ctx, `${ctx.node.label()} normalizes an axis other than the channels`);
    const paramInputs = [1, 2, ...buffers];
    if (!paramInputs.every((i) => ctx.node.input(i)?.isConstant)) {
      return pinInputs(ctx, `${ctx.node.label()} has computed scale, bias or statistics`);
    }
    if (ctx.node.outputs.filter((v) => v).length > 1) return pinInputs(ctx, `${ctx.node.label()} runs in training mode`);
    const out = derive(ctx, l, 0, l.axes, () => true);
    for (let c = 0; c < l.sizes[0]; c++) {
      ctx.attach('param', out.base + c, 1, 0, c);
      ctx.attach('param', out.base + c, 2, 0, c);
      for (const b of buffers) ctx.attach('buffer', out.base + c, b, 0, c);
    }
  };
}

export const batchNormChannels = normalizationChannels([3, 4]);
export const instanceNormChannels = normalizationChannels([]);

/** Outputs after Y (statistics) carry channels otoc does not rewrite: a node that uses them keeps its channels. */
function usesStatistics(ctx: ChannelContext): boolean {
  return ctx.node.outputs.slice(1).some((v) => v && v.consumers.length > 0);
}

/**
 * GroupNormalization: statistics per sample over each group of C/num_groups channels, so a
 * group's channels are tied and go together (the other groups' statistics do not change). With
 * its scale and bias zero a group is 0 whatever its input: both join the group vector, per channel
 * (opset 21) or per group (opset 18). Pruning rewrites num_groups.
 */
export const groupNormChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const label = ctx.node.label();
  if (l.axes.length !== 1 || l.axes[0] !== 1) return pinInputs(ctx, `${label} normalizes an axis other than the channels`);
  if (![1, 2].every((i) => ctx.node.input(i)?.isConstant)) return pinInputs(ctx, `${label} has a computed scale or bias`);
  const groups = attrInt(ctx.node, 'num_groups', 0);
  const channels = l.sizes[0];
  if (groups < 1 || channels % groups !== 0) return pinInputs(ctx, `${label} has ${groups} groups for ${channels} channels`);
  const perGroup = channels / groups;
  const out = derive(ctx, l, 0, l.axes, () => true);
  for (let c = 0; c < channels; c++) {
    const slice = ctx.facts.opset >= 21 ? c : Math.floor(c / perGroup);
    ctx.attach('param', out.base + c, 1, 0, slice);
    ctx.attach('param', out.base + c, 2, 0, slice);
    ctx.union(out.base + c, out.base + c - (c % perGroup));
  }
};

/** GroupNormalization loses whole groups of channels: num_groups becomes the kept count over the group size. */
export const groupNormPrune: PruneRule = (ctx) => {
  const input = ctx.keptIn(0);
  const groups = attrInt(ctx.node, 'num_groups', 0);
  if (!input || groups < 1) return;
  const perGroup = input.layout.sizes[0] / groups;
  setAttributes(ctx.node, { num_groups: input.kept[0].length / perGroup });
};

/**
 * LayerNormalization normalizes over the axes from `axis` on: channels there are mixed by the
 * statistics and stay. Channels on earlier axes are normalized each on its own; a zero one comes
 * out as the bias, which spans the normalized axes only, so it stays zero without a bias or with
 * an all-zero one (the scale multiplies 0).
 */
export const layerNormChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const label = ctx.node.label();
  const rank = inputRank(ctx, 0);
  const axis = rank === undefined ? undefined : normalizeAxis(attrInt(ctx.node, 'axis', -1), rank);
  if (axis === undefined) return pinInputs(ctx, `${label} normalizes axes otoc does not know`);
  if (l.axes.some((a) => a >= axis)) return pinInputs(ctx, `${label} normalizes over the channels`);
  if (usesStatistics(ctx)) return pinInputs(ctx, `${label} has its statistics outputs used`);
  const bias = ctx.node.input(2) ? numbers(ctx.facts.input(2)) : [0];
  const zeroBias = bias !== undefined && bias.every((v) => v === 0);
  derive(ctx, l, 0, l.axes, (z) => z && zeroBias);
};
