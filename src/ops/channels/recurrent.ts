/** Channel rules of recurrent layers: the hidden units of an LSTM. */
import { attrInt } from '../../ir/attributes.js';
import { setAttributes } from '../../ir/build.js';
import { DataType } from '../../ir/dtype.js';
import { makeTensor } from '../../ir/tensor.js';
import type { ChannelRule, PruneRule } from '../channel-rules.js';
import { pinInputs } from '../channel-rules.js';

const GATES = 4;
const INITIAL_STATES = [5, 6];

/**
 * LSTM hidden unit j owns rows j + k·H of W and R (gates i, o, f, c), the matching entries of
 * both bias halves, and column j of R. With all of them zero and zero initial states, the
 * gates see 0, so c_j = f·c_j + i·tanh(0) stays 0 and h_j = o·tanh(0) = 0 at every step: the
 * unit's outputs in Y, Y_h and Y_c are zero and the unit can go. Only the default activations,
 * layout 0 and no peepholes are understood.
 */
export const lstmChannels: ChannelRule = (ctx) => {
  const node = ctx.node;
  const hidden = attrInt(node, 'hidden_size');
  const understood =
    hidden !== undefined &&
    node.input(1)?.isConstant &&
    node.input(2)?.isConstant &&
    (!node.input(3) || node.input(3)!.isConstant) &&
    !node.input(7) &&
    !node.attributes.has('activations') &&
    attrInt(node, 'layout', 0) === 0 &&
    attrInt(node, 'input_forget', 0) === 0 &&
    INITIAL_STATES.every((i) => !node.input(i) || ctx.facts.input(i)?.value?.every((v) => v === 0));
  if (!understood) return pinInputs(ctx, `${node.label()} uses features the LSTM rule does not cover`);
  const y = ctx.create(0, [3], [hidden], () => true);
  [1, 2].forEach((out) => {
    if (!node.outputs[out]) return;
    const state = ctx.create(out, [2], [hidden], () => true);
    for (let j = 0; j < hidden; j++) ctx.union(state.base + j, y.base + j);
  });
  for (let j = 0; j < hidden; j++) {
    const e = y.base + j;
    for (let k = 0; k < GATES; k++) {
      ctx.attach('stem', e, 1, 1, k * hidden + j);
      ctx.attach('stem', e, 2, 1, k * hidden + j);
    }
    if (node.input(3)) for (let k = 0; k < 2 * GATES; k++) ctx.attach('param', e, 3, 1, k * hidden + j);
    ctx.attach('consumer', e, 2, 2, j);
  }
  const input = ctx.inputLayout(0);
  if (!input) return;
  if (input.axes.length !== 1 || input.axes[0] !== 2) return pinInputs(ctx, `${node.label()} reads channels on an axis other than 2`);
  for (let i = 0; i < input.sizes[0]; i++) ctx.attach('consumer', input.base + i, 1, 2, i);
};

/** The LSTM's hidden_size becomes the kept count, and its (zero) initial states shrink with it. */
export const lstmPrune: PruneRule = (ctx) => {
  const out = ctx.keptOut(0);
  if (!out) return;
  const hidden = out.kept[0].length;
  setAttributes(ctx.node, { hidden_size: hidden });
  for (const i of INITIAL_STATES) {
    const shape = ctx.facts.input(i)?.shape as number[] | undefined;
    if (!ctx.node.input(i) || !shape) continue;
    const dims = [shape[0], shape[1], hidden];
    ctx.replaceInput(i, makeTensor('', DataType.FLOAT, dims, new Float32Array(dims[0] * dims[1] * hidden)));
  }
};
