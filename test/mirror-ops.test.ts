import { beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Value } from '../src/ir/graph.js';
import type { Feeds } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { compareWithOrt, gradientCheck, gradientMismatches, randomFeeds } from './mirror-check.js';
import { OpModel, attr } from './tiny-models.js';

/*
 * The ops of today's mobile, OCR and transformer models, each on a tiny model built with the IR:
 * the mirror's forward pass (eval) matches onnxruntime, and its backward pass (training mode)
 * gives every parameter a finite gradient that matches a central finite difference.
 */

beforeAll(async () => {
  await initBackend('wasm');
});

interface OpCase {
  model: Model;
  feeds: Feeds;
}

/** x·w + b per channel (axis 1 of NCHW `x`): a learnable pre-activation, so the op under test gets gradients. */
function affine(m: OpModel, x: Value, channels: number, rank = 4): Value {
  const dims = [channels, ...Array(rank - 2).fill(1)];
  return m.node('Add', [m.node('Mul', [x, m.weight('w', dims, 0.5, 1)]), m.weight('b', dims, 0.5)]);
}

/** Op(affine(x)) on x of [2, 3, 4, 5]. */
function activation(opset: number, opType: string, attributes: Parameters<OpModel['node']>[2] = {}): OpCase {
  const m = new OpModel(opset);
  const x = m.input('x', [2, 3, 4, 5]);
  return { model: m.finish(m.node(opType, [affine(m, x, 3)], attributes)), feeds: randomFeeds({ x: [2, 3, 4, 5] }, 3) };
}

function clipCase(bounds: 'initializers' | 'constant nodes' | 'min only' | 'computed'): OpCase {
  const m = new OpModel(13);
  const x = m.input('x', [2, 3, 4, 5]);
  const pre = affine(m, x, 3);
  const scalar = (name: string, v: number) => (bounds === 'constant nodes' ? m.constantNode(name, [], [v]) : m.constant(name, [], [v]));
  const inputs: (Value | null)[] =
    bounds === 'min only'
      ? [pre, scalar('lo', -0.5)]
      : bounds === 'computed'
        ? [pre, m.node('Neg', [m.constantNode('one', [], [1])]), m.node('ReduceMax', [m.constantNode('tops', [3], [0.2, 0.9, 0.4])], { keepdims: attr.int(0) })]
        : [pre, scalar('lo', 0), scalar('hi', 6)];
  return { model: m.finish(m.node('Clip', inputs)), feeds: randomFeeds({ x: [2, 3, 4, 5] }, 4) };
}

type Attrs = Parameters<OpModel['node']>[2];

/** Resize of affine(x), x [1, 2, 4, 5], by `scales` or to `sizes`. */
function resizeCase(opset: number, attributes: Attrs, target: { scales?: number[]; sizes?: number[] }): OpCase {
  const m = new OpModel(opset);
  const x = m.input('x', [1, 2, 4, 5]);
  const pre = affine(m, x, 2);
  const roi = opset < 13 ? m.constant('roi', [0], []) : null;
  const scales = target.scales ? m.constant('scales', [4], target.scales) : opset < 13 ? m.constant('no_scales', [0], []) : null;
  const sizes = target.sizes ? m.constant('sizes', [4], target.sizes, DataType.INT64) : null;
  return { model: m.finish(m.node('Resize', [pre, roi, scales, ...(sizes ? [sizes] : [])], attributes)), feeds: randomFeeds({ x: [1, 2, 4, 5] }, 5) };
}

/** ConvTranspose of x [2, cin, 4, 5] with weight [cin, cout/group, 3, 3] and a bias. */
function convTransposeCase(cin: number, cout: number, group: number, extra: Attrs = {}): OpCase {
  const m = new OpModel(13);
  const x = m.input('x', [2, cin, 4, 5]);
  const w = m.weight('w', [cin, cout / group, 3, 3], 0.3);
  const b = m.weight('b', [cout], 0.3);
  const y = m.node('ConvTranspose', [x, w, b], { group: attr.int(group), kernel_shape: attr.ints([3, 3]), ...extra });
  return { model: m.finish(y), feeds: randomFeeds({ x: [2, cin, 4, 5] }, 6) };
}

function layerNormCase(axis: number): OpCase {
  const m = new OpModel(17);
  const shape = [2, 3, 4, 5];
  const x = m.input('x', shape);
  const normalized = shape.slice(axis < 0 ? shape.length + axis : axis);
  const y = m.node('LayerNormalization', [x, m.weight('scale', normalized, 0.3, 1), m.weight('bias', normalized, 0.3)], {
    axis: attr.int(axis),
    epsilon: attr.float(1e-5),
  });
  return { model: m.finish(y), feeds: randomFeeds({ x: shape }, 7) };
}

/** GroupNormalization of x [2, 6, 3, 4] in 3 groups; its scale and bias are per group (opset 18) or per channel (21). */
function groupNormCase(opset: 18 | 21): OpCase {
  const m = new OpModel(opset);
  const x = m.input('x', [2, 6, 3, 4]);
  const params = opset === 18 ? 3 : 6;
  const y = m.node('GroupNormalization', [x, m.weight('scale', [params], 0.3, 1), m.weight('bias', [params], 0.3)], {
    num_groups: attr.int(3),
    epsilon: attr.float(1e-5),
  });
  return { model: m.finish(y), feeds: randomFeeds({ x: [2, 6, 3, 4] }, 8) };
}

/**
 * Two-head self-attention as exporters write it: Q, K, V projections (MatMul), heads split by
 * Reshape and Transpose, softmax(Q·Kᵀ / √d)·V, heads merged, output projection.
 */
function attentionCase(): OpCase {
  const [batch, seq, width, heads] = [2, 5, 8, 2];
  const d = width / heads;
  const m = new OpModel(13);
  const x = m.input('x', [batch, seq, width]);
  const split = m.constant('split_heads', [4], [batch, seq, heads, d], DataType.INT64);
  const merge = m.constant('merge_heads', [3], [batch, seq, width], DataType.INT64);
  const project = (name: string) => m.node('MatMul', [x, m.weight(name, [width, width], 0.3)]);
  const headsOf = (v: Value) => m.node('Transpose', [m.node('Reshape', [v, split])], { perm: attr.ints([0, 2, 1, 3]) });
  const [q, k, v] = ['wq', 'wk', 'wv'].map((name) => headsOf(project(name)));
  const kT = m.node('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
  const scores = m.node('Div', [m.node('MatMul', [q, kT]), m.constant('sqrt_d', [], [Math.sqrt(d)])]);
  const p = m.node('Softmax', [scores], { axis: attr.int(-1) });
  const context = m.node('Reshape', [m.node('Transpose', [m.node('MatMul', [p, v])], { perm: attr.ints([0, 2, 1, 3]) }), merge]);
  const y = m.node('MatMul', [context, m.weight('wo', [width, width], 0.3)]);
  return { model: m.finish(y), feeds: randomFeeds({ x: [batch, seq, width] }, 9) };
}

interface RecurrentOptions {
  direction?: 'forward' | 'reverse' | 'bidirectional';
  /** Initial states given (random), else absent (zeros). */
  initial?: boolean;
  peepholes?: boolean;
  attributes?: Attrs;
}

/** LSTM, GRU or RNN (hidden 5) over x of 4 steps, batch 2, 3 features; every output is a graph output. */
function recurrentCase(opType: 'LSTM' | 'GRU' | 'RNN', o: RecurrentOptions = {}): OpCase {
  const [seq, batch, features, hidden] = [4, 2, 3, 5];
  const gates = { LSTM: 4, GRU: 3, RNN: 1 }[opType];
  const directions = o.direction === 'bidirectional' ? 2 : 1;
  const m = new OpModel(14);
  const xShape = [seq, batch, features];
  const stateShape = [directions, batch, hidden];
  const x = m.input('x', xShape);
  const states = opType === 'LSTM' ? ['initial_h', 'initial_c'] : ['initial_h'];
  const inputs = [
    x,
    m.weight('W', [directions, gates * hidden, features], 0.4),
    m.weight('R', [directions, gates * hidden, hidden], 0.4),
    m.weight('B', [directions, 2 * gates * hidden], 0.3),
    null,
    ...states.map((name) => (o.initial ? m.weight(name, stateShape, 0.5) : null)),
    ...(o.peepholes ? [m.weight('P', [directions, 3 * hidden], 0.3)] : []),
  ];
  const outputs = m.nodes(opType, inputs, {
    hidden_size: attr.int(hidden),
    ...(o.direction ? { direction: attr.str(o.direction) } : {}),
    ...o.attributes,
  }, 1 + states.length);
  return { model: m.finish(...outputs), feeds: randomFeeds({ x: xShape }, 10) };
}

const CASES: Record<string, () => OpCase> = {
  'HardSigmoid (default alpha, beta)': () => activation(13, 'HardSigmoid'),
  'HardSigmoid (alpha 1/6, as PyTorch exports it)': () => activation(13, 'HardSigmoid', { alpha: attr.float(1 / 6), beta: attr.float(0.5) }),
  HardSwish: () => activation(14, 'HardSwish'),
  'Clip, min and max as initializers': () => clipCase('initializers'),
  'Clip, min and max as Constant nodes': () => clipCase('constant nodes'),
  'Clip, min only': () => clipCase('min only'),
  'Clip, bounds computed in the graph': () => clipCase('computed'),
  'Resize nearest, asymmetric floor (PyTorch), scales 2': () =>
    resizeCase(13, { mode: attr.str('nearest'), coordinate_transformation_mode: attr.str('asymmetric'), nearest_mode: attr.str('floor') }, { scales: [1, 1, 2, 2] }),
  'Resize nearest, half_pixel round_prefer_floor, sizes': () => resizeCase(13, { mode: attr.str('nearest') }, { sizes: [1, 2, 7, 9] }),
  'Resize linear, half_pixel, scales 2 (opset 11)': () =>
    resizeCase(11, { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('half_pixel') }, { scales: [1, 1, 2, 2] }),
  'Resize linear, pytorch_half_pixel, scales 1.5': () =>
    resizeCase(13, { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('pytorch_half_pixel') }, { scales: [1, 1, 1.5, 1.5] }),
  'Resize linear, align_corners, sizes': () =>
    resizeCase(13, { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('align_corners') }, { sizes: [1, 2, 8, 3] }),
  'Resize linear, asymmetric (tf2onnx), scales 2': () =>
    resizeCase(13, { mode: attr.str('linear'), coordinate_transformation_mode: attr.str('asymmetric') }, { scales: [1, 1, 2, 2] }),
  'ConvTranspose, stride 2, pads, output_padding': () =>
    convTransposeCase(4, 3, 1, { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), output_padding: attr.ints([1, 1]) }),
  'ConvTranspose, group 2': () => convTransposeCase(4, 6, 2, { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
  'ConvTranspose, depthwise (group = channels)': () => convTransposeCase(4, 4, 4, { strides: attr.ints([2, 2]) }),
  'LayerNormalization over the last axis': () => layerNormCase(-1),
  'LayerNormalization over axes 1..3': () => layerNormCase(1),
  'GroupNormalization (opset 18, per-group scale)': () => groupNormCase(18),
  'GroupNormalization (opset 21, per-channel scale)': () => groupNormCase(21),
  Gelu: () => activation(20, 'Gelu'),
  'Gelu, tanh approximation': () => activation(20, 'Gelu', { approximate: attr.str('tanh') }),
  Erf: () => activation(13, 'Erf'),
  'Softmax/MatMul attention': attentionCase,
  LSTM: () => recurrentCase('LSTM'),
  'LSTM, reverse, initial states': () => recurrentCase('LSTM', { direction: 'reverse', initial: true }),
  'LSTM, bidirectional, peepholes': () => recurrentCase('LSTM', { direction: 'bidirectional', initial: true, peepholes: true }),
  GRU: () => recurrentCase('GRU'),
  'GRU, linear_before_reset, bidirectional, initial state': () =>
    recurrentCase('GRU', { direction: 'bidirectional', initial: true, attributes: { linear_before_reset: attr.int(1) } }),
  RNN: () => recurrentCase('RNN', { initial: true }),
  'RNN, Relu, reverse': () => recurrentCase('RNN', { direction: 'reverse', attributes: { activations: { type: 'strings', value: [new TextEncoder().encode('Relu')] } } }),
};

describe('mirror ops against onnxruntime', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const { model, feeds } = CASES[name]();
    for (const c of await compareWithOrt(model, feeds)) expect(c.pass, `forward: ${c.reason}`).toBe(true);
    const check = gradientCheck(model, feeds);
    expect(check.params.length).toBeGreaterThan(0);
    expect(check.finite).toEqual(check.params);
    expect(gradientMismatches(check)).toEqual([]);
  });
});
