/** Channel rules of Gemm and MatMul: a constant weight creates channels; two computed operands tie theirs. */
import { attrInt } from '../../ir/attributes.js';
import { ChannelContext, ChannelRule, Layout, elementAt, indexOf, layoutSize, pinInputs } from '../channel-rules.js';
import { numbers } from '../values.js';
import { MAX_TRACKED_CHANNELS } from '../../limits.js';

/** Gemm with a constant B: Y = alpha·A'·B' + beta·C, channels on axis 1 of Y. */
export const gemmChannels: ChannelRule = (ctx) => {
  const b = ctx.node.input(1);
  const bShape = ctx.facts.input(1)?.shape;
  if (!b?.isConstant || !bShape) return pinInputs(ctx, `${ctx.node.label()} multiplies two computed matrices`);
  const transA = attrInt(ctx.node, 'transA', 0);
  const transB = attrInt(ctx.node, 'transB', 0);
  const outAxis = transB ? 0 : 1;
  const count = bShape[outAxis] as number;
  const c = ctx.node.input(2);
  const cShape = ctx.facts.input(2)?.shape;
  const perChannelBias = c?.isConstant && cShape !== undefined && cShape.length >= 1 && cShape.at(-1) === count &&
    cShape.slice(0, -1).every((d) => d === 1);
  let zeroBias = true;
  if (c && !perChannelBias) {
    // A bias that is not per-channel is the same for every channel: zero only if it is all zeros.
    const values = numbers(ctx.facts.input(2));
    zeroBias = values !== undefined && values.every((v) => v === 0);
  }
  const out = ctx.create(0, [1], [count], () => zeroBias);
  for (let o = 0; o < count; o++) {
    ctx.attach('stem', out.base + o, 1, outAxis, o);
    if (perChannelBias) ctx.attach('param', out.base + o, 2, cShape!.length - 1, o);
  }
  const input = ctx.inputLayout(0);
  if (!input) return;
  const kAxis = transA ? 0 : 1;
  if (input.axes.length !== 1 || input.axes[0] !== kAxis) return pinInputs(ctx, `${ctx.node.label()} reads channels on the batch axis`);
  for (let k = 0; k < input.sizes[0]; k++) ctx.attach('consumer', input.base + k, 1, 1 - outAxis, k);
};

/** MatMul: a constant 2-D right operand is a stem (nn.Linear as exported); two computed operands mix layouts. */
export const matmulChannels: ChannelRule = (ctx) => {
  const bShape = ctx.facts.input(1)?.shape;
  if (ctx.node.input(1)?.isConstant && bShape?.length === 2) return linearChannels(ctx, bShape[1] as number);
  if (ctx.node.input(0)?.isConstant || ctx.node.input(1)?.isConstant) {
    return pinInputs(ctx, `${ctx.node.label()} has a constant operand otoc does not slice`);
  }
  batchedMatmulChannels(ctx);
};

function linearChannels(ctx: ChannelContext, count: number): void {
  const outRank = ctx.facts.output(0)?.shape?.length;
  if (outRank === undefined) return pinInputs(ctx, `${ctx.node.label()} has an unknown output rank`);
  const out = ctx.create(0, [outRank - 1], [count], () => true);
  for (let o = 0; o < count; o++) ctx.attach('stem', out.base + o, 1, 1, o);
  const input = ctx.inputLayout(0);
  const aRank = ctx.facts.input(0)?.shape?.length;
  if (!input || aRank === undefined) return;
  if (input.axes.length !== 1 || input.axes[0] !== aRank - 1) {
    return pinInputs(ctx, `${ctx.node.label()} reads channels on an axis other than the last`);
  }
  for (let k = 0; k < input.sizes[0]; k++) ctx.attach('consumer', input.base + k, 1, 0, k);
}

/**
 * A · B with both operands computed ([..., M, K] · [..., K, N], batch axes broadcast). Each
 * output element is tied to every element of A and B that contributes to it; it is zero when,
 * for every contracted index, the A or the B element is zero. This makes an attention head
 * (Q, K and V columns of one head) one group.
 */
function batchedMatmulChannels(ctx: ChannelContext): void {
  const a = ctx.inputLayout(0);
  const b = ctx.inputLayout(1);
  const aRank = ctx.facts.input(0)?.shape?.length;
  const bRank = ctx.facts.input(1)?.shape?.length;
  const outShape = ctx.facts.output(0)?.shape;
  if ((!a && !b) || aRank === undefined || bRank === undefined || !outShape || aRank < 2 || bRank < 2) {
    if (a || b) pinInputs(ctx, `${ctx.node.label()} has operands of unknown rank`);
    return;
  }
  const rank = outShape.length;
  // Where each operand axis goes in the output; -1 marks the contracted axis.
  const aMap = Array.from({ length: aRank }, (_, i) => (i === aRank - 1 ? -1 : i + rank - aRank));
  const bMap = Array.from({ length: bRank }, (_, i) => (i === bRank - 2 ? -1 : i === bRank - 1 ? rank - 1 : i + rank - bRank));
  const outAxes = [...new Set([...(a?.axes ?? []).map((x) => aMap[x]), ...(b?.axes ?? []).map((x) => bMap[x])])]
    .filter((x) => x >= 0)
    .sort((x, y) => x - y);
  const sizes = outAxes.map((x) => outShape[x]);
  if (!sizes.every((s): s is number => typeof s === 'number')) return pinInputs(ctx, `${ctx.node.label()} has unknown sizes`);
  const contracted = (l: Layout | undefined, axis: number) => (l ? l.axes.indexOf(axis) : -1);
  const aK = contracted(a, aRank - 1);
  const bK = contracted(b, bRank - 2);
  const kSize = aK >= 0 ? a!.sizes[aK] : bK >= 0 ? b!.sizes[bK] : 1;
  if (aK >= 0 && bK >= 0 && a!.sizes[aK] !== b!.sizes[bK]) return pinInputs(ctx, `${ctx.node.label()} contracts mismatched channels`);

  /** Element of operand layout `l` for output index `outIndex` and contracted index k (-1 when absent). */
  const operandElement = (l: Layout | undefined, map: number[], outIndex: number[], k: number): number => {
    if (!l) return -1;
    const index = l.axes.map((axis, i) => {
      const outAxis = map[axis];
      if (outAxis < 0) return k;
      const at = outAxes.indexOf(outAxis);
      return l.sizes[i] === 1 ? 0 : outIndex[at];
    });
    return elementAt(l, index);
  };
  // Each output channel is tied to kSize pairs: beyond the analysis's channel budget, pin instead of looping.
  if (sizes.reduce((x, y) => x * y, 1) * kSize > MAX_TRACKED_CHANNELS) {
    return pinInputs(ctx, `${ctx.node.label()} ties more channel pairs than the analysis follows`);
  }
  const pairs = (outIndex: number[]) =>
    Array.from({ length: kSize }, (_, k) => [operandElement(a, aMap, outIndex, k), operandElement(b, bMap, outIndex, k)]);
  const zeroOf = (e: number) => e >= 0 && ctx.isZero(e);
  const out = ctx.create(0, outAxes, sizes, (k) =>
    pairs(indexOf({ axes: outAxes, sizes, base: 0 }, k)).every(([x, y]) => zeroOf(x) || zeroOf(y)),
  );
  for (let k = 0; k < layoutSize(out); k++) {
    for (const pair of pairs(indexOf(out, k))) for (const e of pair) if (e >= 0) ctx.union(out.base + k, e);
  }
}
