/** Channel rules of element-wise ops: binary ops with broadcasting, Clip, PRelu, Softmax. */
import { attrFloat, attrInt } from '../../ir/attributes.js';
import { ChannelContext, ChannelRule, Layout, derive, layoutSize, passNonZero, pinInputs, sameLayoutShape } from '../channel-rules.js';
import { numbers, scalar } from '../values.js';

export type BinaryKind = 'add' | 'mul' | 'div' | 'max' | 'min' | 'pow';

/** Whether kind(x, c) is 0 for x = 0 and every constant value c (unknown values: no). */
const zeroWithConstant: Record<BinaryKind, (c: number) => boolean> = {
  add: (c) => c === 0,
  mul: (c) => Number.isFinite(c),
  div: (c) => c !== 0 && !Number.isNaN(c),
  max: (c) => c <= 0,
  min: (c) => c >= 0,
  pow: (c) => c > 0,
};

/** The per-channel constant's slices: in the group vector for a bias, removed along for a scale. */
const constantSliceKind = { add: 'param', mul: 'follower', div: 'follower', max: 'follower', min: 'follower' } as const;

/**
 * Add/Sub/Mul/Div/Max/Min/Pow with numpy broadcasting. Both sides tracked: the channels are
 * tied (joint op). One side tracked: the other side is either broadcast over the channels or
 * a per-channel constant that is sliced with them; anything else pins the channels.
 */
export function binaryChannels(kind: BinaryKind): ChannelRule {
  return (ctx) => {
    const a = ctx.inputLayout(0);
    const b = ctx.inputLayout(1);
    if (!a && !b) return;
    const outRank = ctx.facts.output(0)?.shape?.length;
    if (outRank === undefined) return pinInputs(ctx, `${ctx.node.label()} has an unknown output rank`);
    if (a && b) return jointChannels(ctx, kind, a, b, outRank);
    const side = a ? 0 : 1;
    if (side === 1 && (kind === 'div' || kind === 'pow')) {
      return pinInputs(ctx, `channel reaches the ${kind === 'div' ? 'denominator' : 'exponent'} of ${ctx.node.label()}`);
    }
    oneSidedChannels(ctx, kind, (a ?? b)!, side, outRank);
  };
}

function toOutputAxes(ctx: ChannelContext, l: Layout, input: number, outRank: number): number[] {
  const rank = ctx.facts.input(input)?.shape?.length ?? outRank;
  return l.axes.map((x) => x + outRank - rank);
}

function jointChannels(ctx: ChannelContext, kind: BinaryKind, a: Layout, b: Layout, outRank: number): void {
  if (kind === 'div' || kind === 'pow') return pinInputs(ctx, `channel reaches both operands of ${ctx.node.label()}`);
  const aAxes = toOutputAxes(ctx, a, 0, outRank);
  const bAxes = toOutputAxes(ctx, b, 1, outRank);
  const aligned = { ...a, axes: aAxes };
  if (!sameLayoutShape(aligned, { ...b, axes: bAxes })) {
    return pinInputs(ctx, `${ctx.node.label()} combines channels of different layouts`);
  }
  const both = (za: boolean, zb: boolean) => (kind === 'mul' ? za || zb : za && zb);
  const out = ctx.create(0, aAxes, [...a.sizes], (k) => both(ctx.isZero(a.base + k), ctx.isZero(b.base + k)));
  for (let k = 0; k < layoutSize(out); k++) {
    ctx.union(out.base + k, a.base + k);
    ctx.union(out.base + k, b.base + k);
  }
}

function oneSidedChannels(ctx: ChannelContext, kind: BinaryKind, l: Layout, side: number, outRank: number): void {
  const other = 1 - side;
  const otherShape = ctx.facts.input(other)?.shape;
  const outAxes = toOutputAxes(ctx, l, side, outRank);
  if (!otherShape) return pinInputs(ctx, `${ctx.node.label()} has an operand of unknown shape`);
  const offset = outRank - otherShape.length;
  const dimsOnChannels = outAxes.map((x) => (x - offset < 0 ? 1 : otherShape[x - offset]));
  const values = numbers(ctx.facts.input(other));

  if (dimsOnChannels.every((d) => d === 1)) {
    // Broadcast over the channels: one value (or a tensor without channels) meets every channel.
    const zeroOk = values !== undefined && values.every(zeroWithConstant[kind]);
    const computedMulOk = kind === 'mul' && values === undefined;
    return void derive(ctx, l, 0, outAxes, (z) => z && (zeroOk || computedMulOk));
  }
  const operand = ctx.node.input(other);
  const perChannel = l.axes.length === 1 && dimsOnChannels[0] === l.sizes[0] &&
    otherShape.every((d, i) => i + offset === outAxes[0] || d === 1);
  if (!perChannel || !operand?.isConstant || kind === 'pow') {
    const name = operand?.name ?? '?';
    return pinInputs(ctx, `${ctx.node.label()} combines the channels with '${name}', whose channels otoc does not track`);
  }
  const axis = outAxes[0] - offset;
  const fullValues = ctx.node.input(other)!.constant!.data as ArrayLike<number>;
  const out = derive(ctx, l, 0, outAxes, (z) => z);
  for (let c = 0; c < l.sizes[0]; c++) {
    ctx.attach(constantSliceKind[kind], out.base + c, other, axis, c);
    if (kind !== 'add' && !zeroWithConstant[kind](Number(fullValues[c]))) {
      ctx.pin(out.base + c, `channel ${c} is combined with ${fullValues[c]} by ${ctx.node.label()}, which breaks zero`);
    }
  }
}

/** Clip(x, min, max) keeps 0 iff min ≤ 0 ≤ max (bounds are attributes before opset 11, inputs after). */
export const clipChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const lo = ctx.facts.opset < 11 ? attrFloat(ctx.node, 'min', -Infinity) : ctx.node.input(1) ? scalar(ctx.facts.input(1)) : -Infinity;
  const hi = ctx.facts.opset < 11 ? attrFloat(ctx.node, 'max', Infinity) : ctx.node.input(2) ? scalar(ctx.facts.input(2)) : Infinity;
  const keepsZero = lo !== undefined && hi !== undefined && lo <= 0 && hi >= 0;
  derive(ctx, l, 0, l.axes, (z) => z && keepsZero);
};

/** PRelu(0) = 0; a per-channel slope is removed along with its channel. */
export const preluChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const slope = ctx.facts.input(1)?.shape;
  const out = derive(ctx, l);
  if (!slope || slope.every((d) => d === 1)) return;
  const rank = ctx.facts.input(0)?.shape?.length ?? 0;
  const axis = l.axes[0] - (rank - slope.length);
  if (l.axes.length !== 1 || !ctx.node.input(1)?.isConstant || slope[axis] !== l.sizes[0]) {
    return pinInputs(ctx, `${ctx.node.label()} has a slope otoc cannot slice`);
  }
  for (let c = 0; c < l.sizes[0]; c++) ctx.attach('follower', out.base + c, 1, axis, c);
};

/** Softmax/LogSoftmax normalize across `axis` (before opset 13: across every axis from `axis` on). */
export const softmaxChannels: ChannelRule = (ctx) => {
  const l = ctx.inputLayout(0);
  if (!l) return;
  const rank = ctx.facts.input(0)?.shape?.length;
  if (rank === undefined) return pinInputs(ctx, `${ctx.node.label()} has an input of unknown rank`);
  const raw = attrInt(ctx.node, 'axis', ctx.facts.opset < 13 ? 1 : -1);
  const axis = raw < 0 ? raw + rank : raw;
  const normalized = (x: number) => (ctx.facts.opset < 13 ? x >= axis : x === axis);
  if (l.axes.some(normalized)) return pinInputs(ctx, `${ctx.node.label()} normalizes across the channel axis`);
  passNonZero(ctx);
};
