import { attrInt, attrString } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { gruChannels, gruPrune, lstmChannels, lstmPrune, rnnChannels, rnnPrune } from './channels/recurrent.js';
import { facts } from './rules.js';
import type { NodeFacts, OpSpec } from './spec.js';

interface RecurrentDims {
  seq: Shape[number];
  batch: Shape[number];
  input: Shape[number];
  hidden: Shape[number];
  directions: number;
  /** layout 1 (opset 14) puts the batch first in X, Y and the states. */
  batchFirst: boolean;
}

/** X is [seq, batch, input] (layout 0) or [batch, seq, input]; the hidden size is the attribute or R's last dim. */
function recurrentDims(n: NodeFacts): RecurrentDims | undefined {
  const x = n.input(0)?.shape;
  if (x?.length !== 3) return undefined;
  const batchFirst = attrInt(n.node, 'layout', 0) !== 0;
  const direction = attrString(n.node, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) return undefined;
  const [seq, batch] = batchFirst ? [x[1], x[0]] : [x[0], x[1]];
  const hidden = attrInt(n.node, 'hidden_size') ?? n.input(2)?.shape?.[2] ?? null;
  return { seq, batch, input: x[2], hidden, directions: direction === 'bidirectional' ? 2 : 1, batchFirst };
}

/** Y is [seq, directions, batch, hidden] (layout 1: [batch, seq, directions, hidden]); each state [directions, batch, hidden]. */
function recurrent(gates: number) {
  const infer = (n: NodeFacts) => {
    const x = n.input(0);
    if (!x) return [undefined];
    const d = recurrentDims(n);
    if (!d) return n.node.outputs.map(() => ({ elemType: x.elemType }));
    const y: Shape = d.batchFirst ? [d.batch, d.seq, d.directions, d.hidden] : [d.seq, d.directions, d.batch, d.hidden];
    const state: Shape = d.batchFirst ? [d.batch, d.directions, d.hidden] : [d.directions, d.batch, d.hidden];
    return [facts(x.elemType, y), ...n.node.outputs.slice(1).map(() => facts(x.elemType, state))];
  };
  // Per time step, batch row and direction: the gate pre-activations W·x (gates·H × I) and R·h (gates·H × H).
  const macs = (n: NodeFacts) => {
    const d = recurrentDims(n);
    if (!d) return undefined;
    const { seq, batch, input, hidden } = d;
    if (typeof seq !== 'number' || typeof batch !== 'number' || typeof input !== 'number' || typeof hidden !== 'number') {
      return undefined;
    }
    return seq * batch * d.directions * gates * hidden * (input + hidden);
  };
  return { infer, macs };
}

function recurrentOp(opType: string, gates: number, parameterInputs: number[], pruning: Partial<OpSpec> = {}): OpSpec {
  return { opType, domain: '', ...recurrent(gates), parameterInputs, ...pruning };
}

/** W, R and B are learned (LSTM also P, the peepholes); sequence lengths and initial states are inputs. */
export const recurrentOps: OpSpec[] = [
  recurrentOp('LSTM', 4, [1, 2, 3, 7], { channels: lstmChannels, prune: lstmPrune }),
  recurrentOp('GRU', 3, [1, 2, 3], { channels: gruChannels, prune: gruPrune }),
  recurrentOp('RNN', 1, [1, 2, 3], { channels: rnnChannels, prune: rnnPrune }),
];
