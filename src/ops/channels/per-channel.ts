/** Channel rules of ops that act on each channel separately: normalizations, pooling, Resize, Pad. */
import { attrFloat, attrInts, attrString } from '../../ir/attributes.js';
import { ChannelRule, derive, passThrough, pinInputs } from '../channel-rules.js';
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

/** Pooling and other ops that work on each channel's spatial plane (axes ≥ 2). */
export const spatialChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  if (l.axes.some((x) => x >= 2)) return pinInputs(ctx, `${ctx.node.label()} pools over tracked channels`);
  passThrough(ctx);
};

/** Resize keeps the channels when its scales (or sizes) leave the channel axes unchanged. */
export const resizeChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const inShape = ctx.facts.input(0)?.shape;
  const outShape = ctx.facts.output(0)?.shape;
  if (!inShape || !outShape || l.axes.some((x) => inShape[x] !== outShape[x])) {
    return pinInputs(ctx, `${ctx.node.label()} resizes a channel axis`);
  }
  if (ctx.node.input(3) && !l.axes.every((x) => numbers(ctx.facts.input(3))?.[x] !== undefined)) {
    return pinInputs(ctx, `${ctx.node.label()} has sizes otoc cannot rewrite`);
  }
  passThrough(ctx);
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
