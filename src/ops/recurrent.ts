import { attrInt, attrString } from '../ir/attributes.js';
import { formatShape, type Shape } from '../ir/types.js';
import { gruChannels, gruPrune, lstmChannels, lstmPrune, rnnChannels, rnnPrune } from './channels/recurrent.js';
import { FLOAT_TYPES, checkInputType, checkSameTypes, facts, invalidNode } from './rules.js';
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

/**
 * X is [seq, batch, input] (layout 0) or [batch, seq, input]; W is [directions, gates·H, input],
 * R [directions, gates·H, H] and B [directions, 2·gates·H]. A node whose hidden_size, direction or
 * weights disagree is refused (the analysis slices the weights by hidden unit, so they must).
 */
function recurrentDims(n: NodeFacts, gates: number): RecurrentDims | undefined {
  const x = n.input(0)?.shape;
  checkSameTypes(n, [0, 1, 2, 3]);
  checkInputType(n, 0, FLOAT_TYPES, 'X');
  const layout = attrInt(n.node, 'layout', 0);
  const direction = attrString(n.node, 'direction', 'forward');
  if (!DIRECTIONS.includes(direction)) throw invalidNode(n.node, `direction '${direction}' is none of ${DIRECTIONS.join(', ')}`);
  if (layout !== 0 && layout !== 1) throw invalidNode(n.node, `layout must be 0 or 1, got ${layout}`);
  const given = attrInt(n.node, 'hidden_size');
  if (given !== undefined && !(given >= 1)) throw invalidNode(n.node, `hidden_size must be positive, got ${given}`);
  const hidden = given ?? n.input(2)?.shape?.[2] ?? null;
  if (x && x.length !== 3) throw invalidNode(n.node, `X has shape ${formatShape(x)}; it must be [seq, batch, input]`);
  const d = dimsOf(n, hidden);
  const gateRows = typeof hidden === 'number' ? gates * hidden : null;
  const state: Shape = d.batchFirst ? [d.batch, d.directions, hidden] : [d.directions, d.batch, hidden];
  const expected: [number, string, Shape][] = [
    [1, 'W', [d.directions, gateRows, d.input]],
    [2, 'R', [d.directions, gateRows, hidden]],
    [3, 'B', [d.directions, gateRows === null ? null : 2 * gateRows]],
    [5, 'initial_h', state],
    ...(gates === 4 ? ([[6, 'initial_c', state]] as [number, string, Shape][]) : []),
  ];
  for (const [i, name, want] of expected) {
    const got = n.node.input(i) ? n.input(i)?.shape : undefined;
    if (got && (got.length !== want.length || got.some((d, k) => typeof d === 'number' && typeof want[k] === 'number' && d !== want[k]))) {
      throw invalidNode(n.node, `${name} has shape ${formatShape(got)}, but ${direction} with hidden_size ${hidden ?? '?'} needs ${formatShape(want)}`);
    }
  }
  return x ? d : undefined;
}

/** The dims as X, the attributes and `hidden` give them, unchecked. */
function dimsOf(n: NodeFacts, hidden: Shape[number]): RecurrentDims {
  const x = n.input(0)?.shape;
  const batchFirst = attrInt(n.node, 'layout', 0) === 1;
  const [seq, batch, input] = x ? [x[batchFirst ? 1 : 0], x[batchFirst ? 0 : 1], x[2]] : [null, null, null];
  const directions = attrString(n.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  return { seq, batch, input, hidden, directions, batchFirst };
}

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'];

/** Y is [seq, directions, batch, hidden] (layout 1: [batch, seq, directions, hidden]); each state [directions, batch, hidden]. */
function recurrent(gates: number) {
  const infer = (n: NodeFacts) => {
    const x = n.input(0);
    if (!x) return [undefined];
    const d = recurrentDims(n, gates);
    if (!d) return n.node.outputs.map(() => ({ elemType: x.elemType }));
    const y: Shape = d.batchFirst ? [d.batch, d.seq, d.directions, d.hidden] : [d.seq, d.directions, d.batch, d.hidden];
    const state: Shape = d.batchFirst ? [d.batch, d.directions, d.hidden] : [d.directions, d.batch, d.hidden];
    return [facts(x.elemType, y), ...n.node.outputs.slice(1).map(() => facts(x.elemType, state))];
  };
  // Per time step, batch row and direction: the gate pre-activations W·x (gates·H × I) and R·h (gates·H × H).
  // Counted on the shapes the shape rule checked, H from R: a pruning counted without being done
  // (passes/pruned-accounting.ts) cuts the weights but leaves hidden_size as it was.
  const macs = (n: NodeFacts) => {
    if (n.input(0)?.shape?.length !== 3) return undefined;
    const fromR = n.input(2)?.shape?.[2];
    const d = dimsOf(n, typeof fromR === 'number' ? fromR : (attrInt(n.node, 'hidden_size') ?? null));
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
