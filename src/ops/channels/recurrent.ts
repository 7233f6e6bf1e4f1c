/** Channel rules of recurrent layers: the hidden units of an LSTM, GRU or RNN. */
import { attrInt } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import { DataType } from '../../ir/dtype.js';
import { makeTensor } from '../../ir/tensor.js';
import type { ChannelRule, PruneRule } from '../channel-rules.js';
import { pinInputs } from '../channel-rules.js';

/** A recurrent op's gate count and the inputs that hold its initial states. */
interface Recurrent {
  gates: number;
  initialStates: number[];
}

const LSTM: Recurrent = { gates: 4, initialStates: [5, 6] };
const GRU: Recurrent = { gates: 3, initialStates: [5] };
const RNN: Recurrent = { gates: 1, initialStates: [5] };

/**
 * Hidden unit j owns rows j + k·H of W and R (one per gate: LSTM i, o, f, c; GRU z, r, h; RNN
 * one), the matching entries of both bias halves, and column j of R. With all of them zero and
 * zero initial states, every gate of the unit sees 0 at every step, and with the default
 * activations its state stays 0: LSTM c_j = f·c_j + i·tanh(0) and h_j = o·tanh(0); GRU
 * h_j = (1 − z)·tanh(0) + z·h_j; RNN h_j = tanh(0). So the unit's outputs in Y and the final
 * states are zero and the unit can go. Only the default activations, layout 0 and no peepholes
 * or clipping are understood.
 */
function recurrentChannels({ gates, initialStates }: Recurrent): ChannelRule {
  return (ctx) => {
    const node = ctx.node;
    const hidden = attrInt(node, 'hidden_size');
    const understood =
      hidden !== undefined &&
      node.input(1)?.isConstant &&
      node.input(2)?.isConstant &&
      (!node.input(3) || node.input(3)!.isConstant) &&
      !node.input(7) &&
      !node.attributes.has('activations') &&
      !node.attributes.has('clip') &&
      attrInt(node, 'layout', 0) === 0 &&
      attrInt(node, 'input_forget', 0) === 0 &&
      initialStates.every((i) => !node.input(i) || ctx.facts.input(i)?.value?.every((v) => v === 0));
    if (!understood) return pinInputs(ctx, `${node.label()} uses features the ${node.opType} rule does not cover`);
    const y = ctx.create(0, [3], [hidden], () => true);
    initialStates.forEach((_, k) => {
      const out = k + 1;
      if (!node.outputs[out]) return;
      const state = ctx.create(out, [2], [hidden], () => true);
      for (let j = 0; j < hidden; j++) ctx.union(state.base + j, y.base + j);
    });
    for (let j = 0; j < hidden; j++) {
      const e = y.base + j;
      for (let k = 0; k < gates; k++) {
        ctx.attach('stem', e, 1, 1, k * hidden + j);
        ctx.attach('stem', e, 2, 1, k * hidden + j);
      }
      if (node.input(3)) for (let k = 0; k < 2 * gates; k++) ctx.attach('param', e, 3, 1, k * hidden + j);
      ctx.attach('consumer', e, 2, 2, j);
    }
    const input = ctx.inputLayout(0);
    if (!input) return;
    if (input.axes.length !== 1 || input.axes[0] !== 2) return pinInputs(ctx, `${node.label()} reads channels on an axis other than 2`);
    for (let i = 0; i < input.sizes[0]; i++) ctx.attach('consumer', input.base + i, 1, 2, i);
  };
}

/** hidden_size becomes the kept count, and the (zero) initial states shrink with it. */
function recurrentPrune({ initialStates }: Recurrent): PruneRule {
  return (ctx) => {
    const out = ctx.keptOut(0);
    if (!out) return;
    const hidden = out.kept[0].length;
    setAttributes(ctx.node, { hidden_size: hidden });
    for (const i of initialStates) {
      const shape = ctx.facts.input(i)?.shape as number[] | undefined;
      if (!ctx.node.input(i) || !shape) continue;
      const dims = [shape[0], shape[1], hidden];
      ctx.replaceInput(i, makeTensor('', DataType.FLOAT, dims, new Float32Array(dims[0] * dims[1] * hidden)));
    }
  };
}

export const lstmChannels = recurrentChannels(LSTM);
export const lstmPrune = recurrentPrune(LSTM);
export const gruChannels = recurrentChannels(GRU);
export const gruPrune = recurrentPrune(GRU);
export const rnnChannels = recurrentChannels(RNN);
export const rnnPrune = recurrentPrune(RNN);
