import { describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Value } from '../src/ir/graph.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel, randomZero } from '../src/pipeline/prune.js';
import { compareOutputs } from '../src/runtime/compare-outputs.js';
import { inputSets } from '../src/runtime/inputs.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { OpModel, attr } from './tiny-models.js';

/*
 * Zero-invariant groups through the ops of mobile, OCR and transformer models, on tiny models
 * built with the IR: which channels the analysis finds prunable (and why not), and that pruning
 * random groups gives a model that onnxruntime runs to the same outputs as the zeroed full one.
 */

type Attrs = Parameters<OpModel['node']>[2];

const C = 8;

/** conv1 (3 → 8 channels, the stem under test) on x [2, 3, 6, 6]. */
function stem(opset = 13): { m: OpModel; x: Value } {
  const m = new OpModel(opset, 2);
  const input = m.input('x', ['N', 3, 6, 6]);
  const x = m.node('Conv', [input, m.weight('conv1.w', [C, 3, 3, 3], 0.3), m.weight('conv1.b', [C], 0.3)], { pads: attr.ints([1, 1, 1, 1]) });
  m.graph.nodes.at(-1)!.name = 'conv1';
  return { m, x };
}

/** conv2 (→ 4 channels, 1×1) reads `y` and is the output: the consumer of conv1's channels. */
function consume(m: OpModel, y: Value, channels = C): Model {
  return m.finish(m.node('Conv', [y, m.weight('conv2.w', [4, channels, 1, 1], 0.3), m.weight('conv2.b', [4], 0.3)]));
}

/** conv1 → op → conv2, where op makes `channels` channels. */
function between(opset: number, op: (m: OpModel, x: Value) => Value, channels = C): Model {
  const { m, x } = stem(opset);
  return consume(m, op(m, x), channels);
}

const unary = (opType: string, attributes: Attrs = {}) => (m: OpModel, x: Value) => m.node(opType, [x], attributes);

/** Squeeze-excite: x · gate(conv_e(relu(conv_r(GAP(x))))), as MobileNetV3 writes it. */
function squeezeExcite(gate: string) {
  return (m: OpModel, x: Value) => {
    const pooled = m.node('GlobalAveragePool', [x]);
    const squeezed = m.node('Relu', [m.node('Conv', [pooled, m.weight('se_r.w', [4, C, 1, 1], 0.3), m.weight('se_r.b', [4], 0.3)])]);
    const excited = m.node('Conv', [squeezed, m.weight('se_e.w', [C, 4, 1, 1], 0.3), m.weight('se_e.b', [C], 0.3)]);
    return m.node('Mul', [x, m.node(gate, [excited])]);
  };
}

function clip(lo: number, hi: number) {
  return (m: OpModel, x: Value) => m.node('Clip', [x, m.constantNode('lo', [], [lo]), m.constantNode('hi', [], [hi])]);
}

function resize(target: { scales?: number[]; sizes?: number[] }, attributes: Attrs = { mode: attr.str('nearest') }) {
  return (m: OpModel, x: Value) => {
    const scales = target.scales ? m.constant('scales', [4], target.scales) : null;
    const sizes = target.sizes ? [m.constant('sizes', [4], target.sizes, DataType.INT64)] : [];
    return m.node('Resize', [x, null, scales, ...sizes], attributes);
  };
}

/** ConvTranspose 8 → `out` channels in `group` groups, stride 2. */
function convTranspose(out: number, group: number) {
  return (m: OpModel, x: Value) =>
    m.node('ConvTranspose', [x, m.weight('deconv.w', [C, out / group, 2, 2], 0.3), m.weight('deconv.b', [out], 0.3)], {
      group: attr.int(group),
      strides: attr.ints([2, 2]),
    });
}

/** LayerNormalization over H and W (axis 2) of each channel, with or without a bias. */
function layerNormSpatial(bias: boolean) {
  return (m: OpModel, x: Value) => {
    const inputs = [x, m.weight('ln.scale', [6, 6], 0.3, 1), ...(bias ? [m.weight('ln.bias', [6, 6], 0.3)] : [])];
    return m.node('LayerNormalization', inputs, { axis: attr.int(2) });
  };
}

function groupNorm(opset: 18 | 21) {
  return (m: OpModel, x: Value) => {
    const params = opset === 18 ? 4 : C;
    const y = m.node('GroupNormalization', [x, m.weight('gn.scale', [params], 0.3, 1), m.weight('gn.bias', [params], 0.3)], {
      num_groups: attr.int(4),
    });
    return m.node('Relu', [y]);
  };
}

/** Linear (MatMul) 8 → 16 on x [N, 5, 8], `op`, and a second linear 16 → 4 that is the output. */
function betweenLinears(opset: number, op: (m: OpModel, x: Value) => Value): Model {
  const m = new OpModel(opset, 3);
  const x = m.input('x', ['N', 5, 8]);
  const h = m.node('MatMul', [x, m.weight('fc1.w', [8, 16], 0.3)]);
  m.graph.nodes.at(-1)!.name = 'fc1';
  return m.finish(m.node('MatMul', [op(m, m.node('Add', [h, m.weight('fc1.b', [16], 0.3)])), m.weight('fc2.w', [16, 4], 0.3)]));
}

/** Two-head self-attention on x [N, 5, 8] (Q, K, V, output projections), the output through a last linear. */
function attention(): Model {
  const m = new OpModel(13, 4);
  const x = m.input('x', ['N', 5, 8]);
  const split = m.constant('split_heads', [4], [0, 5, 2, 4], DataType.INT64);
  const merge = m.constant('merge_heads', [3], [0, 5, 8], DataType.INT64);
  const project = (name: string) => {
    const y = m.node('MatMul', [x, m.weight(name, [8, 8], 0.3)]);
    m.graph.nodes.at(-1)!.name = name;
    return y;
  };
  const heads = (v: Value) => m.node('Transpose', [m.node('Reshape', [v, split])], { perm: attr.ints([0, 2, 1, 3]) });
  const [q, k, v] = ['wq', 'wk', 'wv'].map((name) => heads(project(name)));
  const scores = m.node('Div', [m.node('MatMul', [q, m.node('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) })]), m.constant('sqrt_d', [], [2])]);
  const p = m.node('Softmax', [scores], { axis: attr.int(-1) });
  const context = m.node('Reshape', [m.node('Transpose', [m.node('MatMul', [p, v])], { perm: attr.ints([0, 2, 1, 3]) }), merge]);
  return m.finish(m.node('MatMul', [context, m.weight('wo', [8, 4], 0.3)]));
}

/** A recurrent layer (hidden 6) over x [4 steps, N, 3]; its Y, squeezed, read by a linear 6 → 2. */
function recurrent(opType: 'LSTM' | 'GRU' | 'RNN', attributes: Attrs = {}): Model {
  const gates = { LSTM: 4, GRU: 3, RNN: 1 }[opType];
  const m = new OpModel(14, 5);
  const x = m.input('x', [4, 'N', 3]);
  const y = m.node(opType, [x, m.weight('W', [1, gates * 6, 3], 0.4), m.weight('R', [1, gates * 6, 6], 0.4), m.weight('B', [1, 2 * gates * 6], 0.3)], {
    hidden_size: attr.int(6),
    ...attributes,
  });
  m.graph.nodes.at(-1)!.name = 'rnn';
  const squeezed = m.node('Squeeze', [y, m.constant('axes', [1], [1], DataType.INT64)]);
  return m.finish(m.node('MatMul', [squeezed, m.weight('fc.w', [6, 2], 0.3)]));
}

interface Case {
  model: () => Model;
  /** The stem whose channels are checked, and how many of them are prunable. */
  stem: string;
  prunable: number;
  /** A reason that keeps them, when none is prunable. */
  reason?: RegExp;
}

const NOT_ZERO = /is not zero when its group is/;

const CASES: Record<string, Case> = {
  'HardSigmoid alone: HardSigmoid(0) = 0.5, so the channels stay': { model: () => between(13, unary('HardSigmoid')), stem: 'conv1', prunable: 0, reason: NOT_ZERO },
  'HardSigmoid squeeze-excite: the Mul with the zero channel restores zero': { model: () => between(13, squeezeExcite('HardSigmoid')), stem: 'conv1', prunable: C },
  'Sigmoid squeeze-excite': { model: () => between(13, squeezeExcite('Sigmoid')), stem: 'conv1', prunable: C },
  'HardSwish(0) = 0': { model: () => between(14, unary('HardSwish')), stem: 'conv1', prunable: C },
  'Clip(0, 6) (ReLU6) keeps zero': { model: () => between(13, clip(0, 6)), stem: 'conv1', prunable: C },
  'Clip(0.5, 6) does not': { model: () => between(13, clip(0.5, 6)), stem: 'conv1', prunable: 0, reason: NOT_ZERO },
  'Resize nearest by scales': { model: () => between(13, resize({ scales: [1, 1, 2, 2] })), stem: 'conv1', prunable: C },
  'Resize linear to sizes (the channel size is rewritten)': {
    model: () => between(13, resize({ sizes: [1, C, 9, 9] }, { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('align_corners') })),
    stem: 'conv1',
    prunable: C,
  },
  'ConvTranspose reads the channels': { model: () => between(13, convTranspose(6, 1), 6), stem: 'conv1', prunable: C },
  'grouped ConvTranspose: local indices tied across the 2 groups': { model: () => between(13, convTranspose(6, 2), 6), stem: 'conv1', prunable: C / 2 },
  'depthwise ConvTranspose goes with its input channel (group rewritten)': { model: () => between(13, convTranspose(16, C), 16), stem: 'conv1', prunable: C },
  'LayerNormalization of each channel, no bias': { model: () => between(17, layerNormSpatial(false)), stem: 'conv1', prunable: C },
  'LayerNormalization of each channel, with a bias: a zero channel comes out as the bias': {
    model: () => between(17, layerNormSpatial(true)),
    stem: 'conv1',
    prunable: 0,
    reason: NOT_ZERO,
  },
  'LayerNormalization over the channels': {
    model: () => betweenLinears(17, (m, h) => m.node('LayerNormalization', [h, m.weight('ln.scale', [16], 0.3, 1), m.weight('ln.bias', [16], 0.3)])),
    stem: 'fc1',
    prunable: 0,
    reason: /normalizes over the channels/,
  },
  'GroupNormalization (opset 18): whole groups of 2 channels': { model: () => between(18, groupNorm(18)), stem: 'conv1', prunable: 4 },
  'GroupNormalization (opset 21)': { model: () => between(21, groupNorm(21)), stem: 'conv1', prunable: 4 },
  'Gelu(0) = 0': { model: () => betweenLinears(20, unary('Gelu')), stem: 'fc1', prunable: 16 },
  'Erf(0) = 0': { model: () => betweenLinears(13, unary('Erf')), stem: 'fc1', prunable: 16 },
  'attention: a head (Q, K, V columns) is a group': { model: attention, stem: 'wq', prunable: 2 },
  'LSTM hidden units': { model: () => recurrent('LSTM'), stem: 'rnn', prunable: 6 },
  'GRU hidden units': { model: () => recurrent('GRU', { linear_before_reset: attr.int(1) }), stem: 'rnn', prunable: 6 },
  'RNN hidden units': { model: () => recurrent('RNN', { direction: attr.str('reverse') }), stem: 'rnn', prunable: 6 },
};

/** The prunable groups among those that hold a slice of `stem`'s weight, and their reasons. */
function stemGroups(model: Model, stem: string): { prunable: number; reasons: string[] } {
  const { groups } = analyzeModel(model);
  const zigs = groups.zigs.filter((z) => z.slices.some((s) => s.kind === 'stem' && s.node.name === stem));
  expect(zigs.length).toBeGreaterThan(0);
  return { prunable: zigs.filter((z) => z.prunable).length, reasons: zigs.flatMap((z) => z.reasons) };
}

/** The largest |full − small| over 4 random input sets, in onnxruntime; throws on another shape. */
async function maxDifference(full: Uint8Array, small: Model): Promise<number> {
  const [a, b] = [await createSession(full), await createSession(encodeModel(small).model)];
  let worst = 0;
  for (const feeds of inputSets({ kind: 'random', count: 4, seed: 3, shapes: new Map() }, decodeModel(full), a.inputNames)) {
    const [ya, yb] = [await runSession(a, feeds), await runSession(b, feeds)];
    ya.forEach((y, i) => {
      const c = compareOutputs(y, yb[i], { atol: 0, rtol: 0 });
      expect(c.reason ?? '').not.toMatch(/shape|type/);
      expect(c.nonFiniteMismatches).toBe(0);
      worst = Math.max(worst, c.maxAbsDiff / Math.max(1, c.maxAbsReference));
    });
  }
  await Promise.all([a.release(), b.release()]);
  return worst;
}

describe('zero-invariant groups through the ops', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name];
    const found = stemGroups(c.model(), c.stem);
    expect(found.prunable).toBe(c.prunable);
    if (c.reason) expect(found.reasons.join('\n')).toMatch(c.reason);
    for (const seed of [0, 1]) {
      const outcome = pruneModel(analyzeModel(c.model()), { zero: randomZero(0.5, seed) });
      if (c.prunable > 0) {
        expect(outcome.removedGroups).toBeGreaterThan(0);
        expect(outcome.after.parameters).toBeLessThan(outcome.before.parameters);
      }
      expect(await maxDifference(outcome.full, outcome.small)).toBeLessThanOrEqual(1e-5);
    }
  });
});
