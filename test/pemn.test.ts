/** PEMN's parts: prototypes, masks and their bits, the straight-through gradient, the packed file in onnxruntime. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { accountPerSample } from '../passes/accounting.js';
import { foldConstants } from '../passes/fold-constants.js';
import { inferShapes } from '../passes/infer-shapes.js';
import { Graph, type Model } from '../src/ir/graph.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { maskedLayers, type MaskedLayer } from '../src/methods/pemn/layers.js';
import { keptCount, packBits, topKMask, unpackBits } from '../src/methods/pemn/mask.js';
import { maskingHooks } from '../src/methods/pemn/masking.js';
import { packModel, packedFileInfo } from '../src/methods/pemn/pack.js';
import { buildPrototype, layerWeights, rpLength, type PrototypeSettings } from '../src/methods/pemn/prototype.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { checkEquivalence } from '../src/runtime/equivalence.js';
import { inputSets } from '../src/runtime/inputs.js';
import { createSession } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/random.js';
import { DataType } from '../src/ir/dtype.js';
import { readModel } from '../src/onnx/read.js';
import { corpusModel } from './paths.js';
import { OpModel, attr } from './tiny-models.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Layers of the given dims and fan-ins, as maskedLayers would find them. */
function layersOf(...specs: [number[], number][]): MaskedLayer[] {
  const graph = new Graph();
  return specs.map(([dims, fanIn], i) => ({ value: graph.ensureValue(`w${i}`), dims, size: dims.reduce((a, b) => a * b, 1), fanIn }));
}

const settings = (over: Partial<PrototypeSettings>): PrototypeSettings => ({ prototype: 'mp', layerScale: false, seed: 3, ...over });

describe('prototypes', () => {
  // The largest layer (8 weights, fan-in 4) is drawn; the others take its first values.
  const layers = layersOf([[2, 3], 3], [[2, 2, 2], 4], [[4], 1], [[2, 3], 3]);

  it('mp: every layer takes the first values of the largest layer\'s random init, reshaped', () => {
    const p = buildPrototype(layers, settings({ prototype: 'mp' }));
    expect(p.values).toHaveLength(8);
    expect(p.expandedLength).toBe(8);
    layers.forEach((l, i) => expect(layerWeights(p, i)).toEqual(p.values.slice(0, l.size)));
  });

  it('rp: the first ⌊r·N_max⌋ + 1 values of the mp prototype, tiled end to end and truncated per layer', () => {
    const mp = buildPrototype(layers, settings({ prototype: 'mp' }));
    const p = buildPrototype(layers, settings({ prototype: 'rp', ratio: 0.25 }));
    const [a, b, c] = mp.values;
    expect(p.values).toEqual(Float32Array.of(a, b, c));
    expect(layerWeights(p, 1)).toEqual(Float32Array.of(a, b, c, a, b, c, a, b));
    expect(layerWeights(p, 2)).toEqual(Float32Array.of(a, b, c, a));
    expect(rpLength(147_456, 1e-3)).toBe(148);
    expect(rpLength(10, 1)).toBe(10);
    expect(() => rpLength(10, 0)).toThrow('--ratio must be in (0, 1], got 0');
  });

  it('one-layer: layers of equal shapes share one random tensor, drawn at their own fan-in', () => {
    const p = buildPrototype(layers, settings({ prototype: 'one-layer' }));
    expect(p.values).toHaveLength(6 + 8 + 4);
    expect(p.layers.map((l) => l.offset)).toEqual([0, 6, 14, 0]);
    expect(layerWeights(p, 3)).toEqual(layerWeights(p, 0));
    expect(layerWeights(p, 2)).toEqual(p.values.slice(14));
  });

  it('scales each layer to its own Kaiming scale with layer scales: √(fan-in drawn / fan-in)', () => {
    const p = buildPrototype(layers, settings({ prototype: 'rp', ratio: 0.25, layerScale: true }));
    expect(p.layers.map((l) => l.scale)).toEqual([Math.sqrt(4 / 3), 1, 2, Math.sqrt(4 / 3)].map(Math.fround));
    const plain = buildPrototype(layers, settings({ prototype: 'rp', ratio: 0.25 }));
    expect(layerWeights(p, 2)).toEqual(layerWeights(plain, 2).map((w) => w * 2));
  });

  it('draws Kaiming-normal values (fan-in, ReLU gain), the same bits for the same seed', () => {
    const big = layersOf([[100, 100], 50]);
    const p = buildPrototype(big, settings({ seed: 7 }));
    const mean = p.values.reduce((a, v) => a + v, 0) / p.values.length;
    const variance = p.values.reduce((a, v) => a + (v - mean) ** 2, 0) / p.values.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(variance).toBeCloseTo(2 / 50, 2);
    expect(buildPrototype(big, settings({ seed: 7 })).values).toEqual(p.values);
    expect(buildPrototype(big, settings({ seed: 8 })).values).not.toEqual(p.values);
  });
});

describe('masks', () => {
  it('keeps the keep fraction of largest |score|s, as the reference zeroes the ⌊(1 − keep)·n⌋ smallest', () => {
    expect(keptCount(9, 0.5)).toBe(5);
    expect(keptCount(10, 1)).toBe(10);
    expect(topKMask(Float32Array.of(0.5, -0.1, 0.3, -0.9), 0.5)).toEqual(Uint8Array.of(1, 0, 0, 1));
    expect(topKMask(Float32Array.of(0.2, -0.4, 0.1), 0.5)).toEqual(Uint8Array.of(1, 1, 0));
    // Equal |scores| at the threshold: the earlier ones go.
    expect(topKMask(Float32Array.of(1, -1, 1, 1), 0.5)).toEqual(Uint8Array.of(0, 0, 1, 1));
    const rng = new Rng(1);
    const scores = Float32Array.from({ length: 1001 }, () => rng.normal());
    const mask = topKMask(scores, 0.3);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(keptCount(1001, 0.3));
    const smallestKept = Math.min(...[...scores].filter((_, j) => mask[j]).map(Math.abs));
    expect([...scores].filter((_, j) => !mask[j]).every((s) => Math.abs(s) <= smallestKept)).toBe(true);
  });

  it('packs bits 8 per byte, lowest bit first, and unpacks them', () => {
    expect(packBits(Uint8Array.of(1, 0, 1, 1, 0, 0, 0, 0, 1))).toEqual(Uint8Array.of(0b1101, 1));
    const rng = new Rng(2);
    for (const n of [1, 8, 13, 1000]) {
      const bits = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
      const bytes = packBits(bits);
      expect(bytes).toHaveLength(Math.ceil(n / 8));
      expect(unpackBits(bytes, n)).toEqual(bits);
    }
  });
});

describe('the straight-through mask', () => {
  it('multiplies the weight by its mask forward, and passes ∂L/∂W′ ⊙ W ⊙ sign(S) back to the scores', () => {
    const model = zooEntry('small-cnn')!.build({ input: [1, 8, 8], classes: 3, seed: 0 });
    const mirror = buildMirror(model);
    const hooks = maskingHooks({ keep: 0.5, seed: 0 }, { model, mirror, tf });
    try {
      const fc = [...mirror.params.keys()].find((v) => v.name === 'fc1.weight')!;
      const weight = mirror.params.get(fc)!;
      const scores = hooks.trainedVariables!().get(fc)!;
      expect(scores).not.toBe(weight);
      expect(scores.shape).toEqual(weight.shape);
      const [w, s] = [weight.dataSync() as Float32Array, scores.dataSync() as Float32Array];
      const mask = topKMask(s, 0.5);
      const c = tf.randomNormal(weight.shape, 0, 1, 'float32', 5);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(hooks.transform!(fc, weight), c)) as tf.Scalar, [scores]);
      const cs = c.dataSync();
      expect(value.dataSync()[0]).toBeCloseTo(w.reduce((a, wj, j) => a + wj * mask[j] * cs[j], 0), 4);
      const expected = Float32Array.from(w, (wj, j) => cs[j] * wj * Math.sign(s[j]));
      expect(grads[scores.name].dataSync()).toEqual(expected);
      // The frozen weight is not what trains: every other parameter is the mirror's own.
      const trained = hooks.trainedVariables!();
      for (const [v, variable] of mirror.params) expect(variable === trained.get(v)).toBe(!['conv1.weight', 'conv2.weight', 'conv3.weight', 'fc1.weight'].includes(v.name));
      tf.dispose([c, value, ...Object.values(grads)]);
    } finally {
      hooks.dispose!();
      mirror.dispose();
    }
  });
});

describe('the packed file', () => {
  /** A tiny CNN at `opset`, its prototype (rp) and random masks, packed. */
  function packed(opset: number) {
    const model = zooEntry('small-cnn')!.build({ input: [1, 8, 8], classes: 3, seed: 1 });
    model.opsetImports = [{ domain: '', version: opset }];
    return packedWithRandomMasks(model);
  }

  function packedWithRandomMasks(model: Model) {
    const { model: analyzed } = analyzeModel(model);
    const layers = maskedLayers(analyzed);
    const prototype = buildPrototype(layers, { prototype: 'rp', ratio: 0.01, layerScale: true, seed: 0 });
    const rng = new Rng(9);
    const masks = layers.map((l) => Uint8Array.from({ length: l.size }, () => (rng.next() < 0.5 ? 1 : 0)));
    return { layers, ...packModel(analyzed, prototype, masks, 0.5) };
  }

  async function expectSameOutputs(a: Model, b: Model, shapes = new Map([['input', [2, 1, 8, 8]]])): Promise<number> {
    const [sa, sb] = [await createSession(encodeModel(a).model), await createSession(encodeModel(b).model)];
    const feeds = inputSets({ kind: 'random', count: 3, seed: 4, shapes }, a, sa.inputNames);
    const r = await checkEquivalence({ label: 'materialized', session: sa }, { label: 'packed', session: sb }, feeds, { atol: 1e-5, rtol: 1e-5 });
    expect(r.equivalent, r.reason).toBe(true);
    return Math.max(...r.outputs.map((o) => o.maxAbsDiff));
  }

  it.each([
    [13, 'Mod'],
    [18, 'BitwiseAnd'],
  ])('rebuilds the materialized weights in onnxruntime at opset %i (BitShift, then %s)', async (opset, lowBit) => {
    const { packed: p, materialized: m, layers } = packed(opset);
    const ops = p.graph.nodes.map((n) => n.opType);
    expect(ops).toContain('BitShift');
    expect(ops).toContain(lowBit);
    expect(p.opset('')).toBe(opset);
    expect(await expectSameOutputs(m, p)).toBe(0);
    expect(p.graph.initializers.map((v) => v.name)).not.toEqual(expect.arrayContaining(layers.map((l) => l.value.name)));
    expect(encodeModel(p).model.byteLength).toBeLessThan(encodeModel(m).model.byteLength);
  });

  // MatMul weights, ConvTranspose, grouped convs, a weight two nodes share.
  it.each(['transformer_block', 'convtranspose', 'groupconv', 'weightshare'])('rebuilds the weights of the corpus %s exactly', async (name) => {
    const { packed: p, materialized: m } = packedWithRandomMasks(readModel(corpusModel(name)));
    expect(await expectSameOutputs(m, p, new Map())).toBe(0);
    expect(accountPerSample(p).parameters).toBe(accountPerSample(m).parameters);
  });

  it('counts its rebuilt weights as parameters, as the materialized model does', () => {
    const { packed: p, materialized: m, layers } = packed(13);
    const [a, b] = [accountPerSample(p), accountPerSample(m)];
    expect(a.parameters).toBe(b.parameters);
    expect(a.rebuiltWeights).toBe(layers.reduce((n, l) => n + l.size, 0));
    expect(b.rebuiltWeights).toBe(0);
    expect(a.totalMacs).toBe(b.totalMacs);
    expect(packedFileInfo(p)).toMatchObject({ method: 'pemn', prototype: 'rp', keep: 0.5, maskedLayers: layers.length });
    expect(packedFileInfo(m)).toBeUndefined();
  });

  it('is never expanded by constant folding', () => {
    const { packed: p } = packed(13);
    const before = encodeModel(p).model;
    expect(foldConstants(p, inferShapes(p))).toBe(0);
    expect(encodeModel(p).model).toEqual(before);
  });

  it('leaves the nodes that rebuild a weight alone, where folding would store the weight', () => {
    /** A 1×1 Conv whose weight, or a bias Add's operand, is Cast(Mul(int32 codes, 3)): foldable integer arithmetic. */
    const rebuiltInto = (weight: boolean) => {
      const m = new OpModel(13);
      const x = m.input('x', [1, 2, 4, 4]);
      const codes = m.constant('codes', [2, 2, 1, 1], [1, -2, 3, 4], DataType.INT32);
      const decoded = m.node('Cast', [m.node('Mul', [codes, m.constant('three', [], [3], DataType.INT32)])], { to: attr.int(DataType.FLOAT) });
      const y = weight ? m.node('Conv', [x, decoded]) : m.node('Add', [x, m.node('Reshape', [decoded, m.constant('shape', [4], [1, 1, 4, 1], DataType.INT64)])]);
      return m.finish(y);
    };
    const control = rebuiltInto(false);
    expect(foldConstants(control, inferShapes(control))).toBe(1);
    const model = rebuiltInto(true);
    expect(foldConstants(model, inferShapes(model))).toBe(0);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Mul', 'Cast', 'Conv']);
    expect(accountPerSample(model).rebuiltWeights).toBe(4);
  });

  it('refuses an opset without BitShift, in one line', () => {
    expect(() => packed(10)).toThrow('PEMN writes its masks with BitShift, which needs ai.onnx opset 11 or newer; the model imports opset 10');
  });
});
