/** Channel rule and prune rewrite of Resize. */
import { ChannelRule, PruneRule, keptCount, passThrough, pinInputs } from '../channel-rules.js';
import { numbers } from '../values.js';

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

/** Resize given explicit output sizes: the channel dims become the kept counts. */
export const resizePrune: PruneRule = (ctx) => {
  const out = ctx.keptOut(0);
  const sizes = numbers(ctx.facts.input(3));
  if (!out || !sizes || !ctx.node.input(3)) return;
  ctx.replaceIntInput(3, sizes.map((d, axis) => keptCount(out, axis) ?? d));
};
