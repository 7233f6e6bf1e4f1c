/** Channel rule of the pooling ops, which work on each channel's spatial plane. */
import { ChannelRule, passThrough, pinInputs } from '../channel-rules.js';

/** Pooling and other ops that work on each channel's spatial plane (axes ≥ 2). */
export const spatialChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  if (l.axes.some((x) => x >= 2)) return pinInputs(ctx, `${ctx.node.label()} pools over tracked channels`);
  passThrough(ctx);
};
