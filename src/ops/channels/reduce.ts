/** Channel rule of the ReduceX ops. */
import { attrInt, attrInts } from '../../ir/attributes.js';
import { ChannelRule, derive, pinInputs } from '../channel-rules.js';
import { numbers } from '../values.js';

/**
 * ReduceX over axes that hold no channel passes the channels on (shifted when keepdims = 0);
 * reducing over a channel axis mixes channels: a barrier. `inputSince` is the opset from which
 * the axes are an input rather than an attribute.
 */
export function reduceChannels(inputSince: number, keepsZero = true): ChannelRule {
  return (ctx) => {
    const l = ctx.inputLayout(0);
    if (!l) return;
    const rank = ctx.facts.input(0)?.shape?.length;
    const raw = ctx.facts.opset >= inputSince ? (ctx.node.input(1) ? numbers(ctx.facts.input(1)) : []) : attrInts(ctx.node, 'axes', []);
    if (rank === undefined || raw === undefined) return pinInputs(ctx, `${ctx.node.label()} reduces unknown axes`);
    const noop = attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1;
    if (raw.length === 0 && noop) return void derive(ctx, l);
    const axes = raw.length === 0 ? Array.from({ length: rank }, (_, i) => i) : raw.map((a) => (a < 0 ? a + rank : a));
    if (l.axes.some((x) => axes.includes(x))) return pinInputs(ctx, `${ctx.node.label()} reduces over the channel axis`);
    const keepDims = attrInt(ctx.node, 'keepdims', 1) === 1;
    const outAxes = keepDims ? l.axes : l.axes.map((x) => x - axes.filter((a) => a < x).length);
    derive(ctx, l, 0, outAxes, (z) => z && keepsZero);
  };
}
