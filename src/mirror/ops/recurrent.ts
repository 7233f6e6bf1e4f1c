/**
 * tfjs kernels of LSTM, GRU and RNN, unrolled over the sequence (ONNX's definitions: gate order
 * i, o, f, c for LSTM and z, r, h for GRU; W·x for every step in one product, R·h per step).
 * Variable sequence lengths, clipping, LSTM's coupled input-forget gate, activations with
 * parameters and the batch-first layout (which onnxruntime does not run either) are refused.
 */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrInt, attrString, attrStrings } from '../../ir/attributes.js';
import type { Node } from '../../ir/graph.js';
import type { NodeFacts } from '../../ops/spec.js';
import { TfjsContext, TfjsRule, TfjsRules, acceptAttributes, onnxOrder, unsupported } from './rule.js';

type Activation = (x: tf.Tensor) => tf.Tensor;

const ACTIVATIONS: Record<string, Activation> = { Sigmoid: tf.sigmoid, Tanh: tf.tanh, Relu: tf.relu };

/** One direction's weights: W [gates·H, I], R [gates·H, H], and the two bias halves [gates·H] (zeros when absent). */
interface Weights {
  w: tf.Tensor2D;
  r: tf.Tensor2D;
  wb: tf.Tensor1D;
  rb: tf.Tensor1D;
}

/** One step of a cell: the pre-computed x·Wᵀ + Wb of this step, the state before, the new state ([H, C] for LSTM). */
type Step = (xw: tf.Tensor2D, state: tf.Tensor2D[], d: Weights, act: Activation[], hidden: number) => tf.Tensor2D[];

interface Cell {
  gates: number;
  /** Default activations of one direction. */
  activations: string[];
  /** Initial state inputs after initial_h (LSTM: initial_c). */
  states: number[];
  attributes: string[];
  /** Checks the attributes that change the cell's equations. */
  check(node: Node): void;
  /** Builds the step, given the node's inputs (LSTM: peepholes). */
  step(n: NodeFacts, ctx: TfjsContext, direction: number): Step;
}

/** Direction `d` of a [directions, ...] tensor (a slice: gather's gradient has no wasm kernel). */
const ofDirection = <T extends tf.Tensor>(t: tf.Tensor, d: number) =>
  tf.squeeze(tf.slice(t, [d, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]), [0]) as unknown as T;

const recurrence = (h: tf.Tensor2D, d: Weights, from: number, count: number) =>
  tf.add(tf.matMul(h, tf.slice(d.r, [from, 0], [count, -1]), false, true), tf.slice(d.rb, from, count));

const lstm: Cell = {
  gates: 4,
  activations: ['Sigmoid', 'Tanh', 'Tanh'],
  states: [6],
  attributes: ['input_forget'],
  check: (node) => {
    if (attrInt(node, 'input_forget', 0) !== 0) throw unsupported(node, 'input_forget = 1');
  },
  step: (_n, ctx, direction) => {
    const peepholes = ctx.has(7) ? ofDirection<tf.Tensor1D>(ctx.input(7), direction) : undefined;
    return (xw, [h, c], d, [f, g, hAct], hidden) => {
      const pre = tf.add(xw, recurrence(h, d, 0, 4 * hidden));
      const [i, o, fg, cc] = tf.split(pre, 4, 1);
      const peep = (k: number, state: tf.Tensor) => (peepholes ? tf.mul(tf.slice(peepholes, k * hidden, hidden), state) : undefined);
      const withPeep = (x: tf.Tensor, k: number, state: tf.Tensor) => {
        const p = peep(k, state);
        return p ? tf.add(x, p) : x;
      };
      const input = f(withPeep(i, 0, c));
      const forget = f(withPeep(fg, 2, c));
      const cNew = tf.add(tf.mul(forget, c), tf.mul(input, g(cc))) as tf.Tensor2D;
      const output = f(withPeep(o, 1, cNew));
      return [tf.mul(output, hAct(cNew)) as tf.Tensor2D, cNew];
    };
  },
};

const gru: Cell = {
  gates: 3,
  activations: ['Sigmoid', 'Tanh'],
  states: [],
  attributes: ['linear_before_reset'],
  check: () => undefined,
  step: (n) => {
    const linearBeforeReset = attrInt(n.node, 'linear_before_reset', 0) !== 0;
    return (xw, [h], d, [f, g], hidden) => {
      const [xz, xr, xh] = tf.split(xw, 3, 1);
      const zr = tf.add(tf.concat([xz, xr], 1), recurrence(h, d, 0, 2 * hidden));
      const [z, r] = tf.split(f(zr), 2, 1);
      const recurrentH = linearBeforeReset
        ? tf.mul(r, recurrence(h, d, 2 * hidden, hidden))
        : recurrence(tf.mul(r, h) as tf.Tensor2D, d, 2 * hidden, hidden);
      const candidate = g(tf.add(xh, recurrentH));
      return [tf.add(tf.mul(tf.sub(1, z), candidate), tf.mul(z, h)) as tf.Tensor2D];
    };
  },
};

const rnn: Cell = {
  gates: 1,
  activations: ['Tanh'],
  states: [],
  attributes: [],
  check: () => undefined,
  step: () => (xw, [h], d, [f], hidden) => [f(tf.add(xw, recurrence(h, d, 0, hidden))) as tf.Tensor2D],
};

function activationsOf(node: Node, cell: Cell, directions: number): Activation[][] {
  const names = attrStrings(node, 'activations') ?? Array<string[]>(directions).fill(cell.activations).flat();
  if (names.length !== cell.activations.length * directions) {
    throw new OtocError(`node ${node.label()}: ${names.length} activations for ${directions} direction(s)`);
  }
  return Array.from({ length: directions }, (_, d) =>
    names.slice(d * cell.activations.length, (d + 1) * cell.activations.length).map((name) => {
      const fn = ACTIVATIONS[name];
      if (!fn) throw unsupported(node, `activation '${name}'`);
      return fn;
    }),
  );
}

function recurrentTfjs(cell: Cell): TfjsRule {
  return (n) => {
    const node = n.node;
    acceptAttributes(node, ['activations', 'direction', 'hidden_size', 'layout', 'clip', 'activation_alpha', 'activation_beta', ...cell.attributes]);
    for (const name of ['clip', 'activation_alpha', 'activation_beta']) if (node.attributes.has(name)) throw unsupported(node, `attribute '${name}'`);
    if (attrInt(node, 'layout', 0) !== 0) throw unsupported(node, 'layout 1 (batch first)');
    cell.check(node);
    const direction = attrString(node, 'direction', 'forward');
    if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw unsupported(node, `direction '${direction}'`);
    const directions = direction === 'bidirectional' ? 2 : 1;
    const activations = activationsOf(node, cell, directions);
    return (ctx) => {
      const xs = ctx.input(0) as tf.Tensor3D;
      const [seq, batch, inputSize] = xs.shape;
      if (ctx.has(4) && ctx.values(4).some((len) => len !== seq)) throw unsupported(node, 'sequence_lens shorter than the sequence');
      const w = ctx.input(1) as tf.Tensor3D;
      const hidden = w.shape[1] / cell.gates;
      const flat = tf.reshape(xs, [seq * batch, inputSize]) as tf.Tensor2D;
      const ys: tf.Tensor[] = [];
      const finals: tf.Tensor2D[][] = [];
      for (let d = 0; d < directions; d++) {
        const bias = ctx.has(3) ? ofDirection<tf.Tensor1D>(ctx.input(3), d) : tf.zeros([2 * cell.gates * hidden]);
        const [wb, rb] = tf.split(bias, 2) as tf.Tensor1D[];
        const weights: Weights = { w: ofDirection(w, d), r: ofDirection(ctx.input(2), d), wb, rb };
        const xw = tf.unstack(tf.reshape(tf.add(tf.matMul(flat, weights.w, false, true), wb), [seq, batch, cell.gates * hidden])) as tf.Tensor2D[];
        const initial = (index: number) => (ctx.has(index) ? ofDirection<tf.Tensor2D>(ctx.input(index), d) : tf.zeros<tf.Rank.R2>([batch, hidden]));
        let state = [initial(5), ...cell.states.map(initial)];
        const step = cell.step(n, ctx, d);
        const outputs = new Array<tf.Tensor2D>(seq);
        const reverse = direction === 'reverse' || d === 1;
        for (let k = 0; k < seq; k++) {
          const t = reverse ? seq - 1 - k : k;
          state = step(xw[t], state, weights, activations[d], hidden);
          outputs[t] = state[0];
        }
        ys.push(tf.stack(outputs));
        finals.push(state);
      }
      // Y [seq, directions, batch, H]; each final state [directions, batch, H].
      const final = (i: number) => onnxOrder(tf.stack(finals.map((f) => f[i])));
      return [onnxOrder(tf.stack(ys, 1)), final(0), ...cell.states.map((_, i) => final(i + 1))];
    };
  };
}

/** The tfjs rules of LSTM, GRU and RNN, by op type. */
export const recurrentRules: TfjsRules = {
  LSTM: recurrentTfjs(lstm),
  GRU: recurrentTfjs(gru),
  RNN: recurrentTfjs(rnn),
};
