import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model, type Value } from '../src/ir/graph.js';
import { floatData } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import type { Samples } from '../src/data/samples.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { reestimateStatistics, restoreStatistics, saveStatistics } from '../src/train/reestimate-statistics.js';
import { initBackend } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/random.js';
import { NetBuilder } from '../models/builder.js';

/*
 * Training mode: BatchNormalization normalizes with the batch's statistics and moves its running
 * statistics as ONNX defines (running·momentum + batch·(1 − momentum), biased variance); Dropout
 * drops in training and is the identity in eval mode.
 */

beforeAll(async () => {
  await initBackend('wasm');
});

const [BATCH, CIN, SIZE, COUT] = [4, 2, 5, 3];

interface ConvWeights {
  weight: Float32Array;
  bias: Float32Array;
}

/** conv 3×3 (pad 1, bias) → BN → ReLU → global pool → linear: the BN's input is computed by hand below. */
function smallNet(): { model: Model; conv: ConvWeights; bn: { mean: Value; variance: Value; momentum: number } } {
  const b = new NetBuilder('bn_net', [CIN, SIZE, SIZE], 7);
  const conv = b.conv(b.input, { out: COUT, bias: true });
  const bn = b.batchNorm(conv);
  const model = b.finish(b.linear(b.globalPool(b.relu(bn)), 4));
  const convNode = conv.producer!;
  const bnNode = bn.producer!;
  return {
    model,
    conv: { weight: floatData(convNode.input(1)!.constant!), bias: floatData(convNode.input(2)!.constant!) },
    bn: { mean: bnNode.input(3)!, variance: bnNode.input(4)!, momentum: 0.9 },
  };
}

/** The 3×3, pad 1 convolution of NCHW `x`, in plain arithmetic. */
function convolve(x: Float32Array, { weight, bias }: ConvWeights): Float32Array {
  const out = new Float32Array(BATCH * COUT * SIZE * SIZE);
  for (let n = 0; n < BATCH; n++)
    for (let m = 0; m < COUT; m++)
      for (let h = 0; h < SIZE; h++)
        for (let w = 0; w < SIZE; w++) {
          let sum = bias[m];
          for (let c = 0; c < CIN; c++)
            for (let i = 0; i < 3; i++)
              for (let j = 0; j < 3; j++) {
                const [y, z] = [h + i - 1, w + j - 1];
                if (y < 0 || z < 0 || y >= SIZE || z >= SIZE) continue;
                sum += x[((n * CIN + c) * SIZE + y) * SIZE + z] * weight[((m * CIN + c) * 3 + i) * 3 + j];
              }
          out[((n * COUT + m) * SIZE + h) * SIZE + w] = sum;
        }
  return out;
}

/** Per channel of NCHW `y`: the mean and the variance divided by the count. */
function channelStatistics(y: Float32Array): { mean: number[]; variance: number[] } {
  const count = BATCH * SIZE * SIZE;
  const values = (m: number) =>
    Array.from({ length: count }, (_, k) => y[(Math.floor(k / (SIZE * SIZE)) * COUT + m) * SIZE * SIZE + (k % (SIZE * SIZE))]);
  const mean = Array.from({ length: COUT }, (_, m) => values(m).reduce((a, b) => a + b, 0) / count);
  const variance = mean.map((mu, m) => values(m).reduce((a, v) => a + (v - mu) ** 2, 0) / count);
  return { mean, variance };
}

function randomInput(seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: BATCH * CIN * SIZE * SIZE }, () => rng.normal());
}

describe('BatchNormalization in training mode', () => {
  it('moves the running statistics by the batch statistics after one forward pass', () => {
    const { model, conv, bn } = smallNet();
    const x = randomInput(1);
    const expected = channelStatistics(convolve(x, conv));
    const mirror = buildMirror(model);
    try {
      tf.tidy(() => mirror.forward({ input: tf.tensor(x, [BATCH, CIN, SIZE, SIZE]) }, { training: true }));
      const runningMean = Array.from(mirror.buffers.get(bn.mean)!.dataSync());
      const runningVar = Array.from(mirror.buffers.get(bn.variance)!.dataSync());
      // The builder starts with mean 0 and variance 1.
      expected.mean.forEach((m, c) => expect(runningMean[c]).toBeCloseTo(0 * bn.momentum + m * (1 - bn.momentum), 5));
      expected.variance.forEach((v, c) => expect(runningVar[c]).toBeCloseTo(1 * bn.momentum + v * (1 - bn.momentum), 5));

      // Eval mode reads the statistics and leaves them alone.
      tf.tidy(() => mirror.forward({ input: tf.tensor(x, [BATCH, CIN, SIZE, SIZE]) }, { training: false }));
      expect(Array.from(mirror.buffers.get(bn.mean)!.dataSync())).toEqual(runningMean);

      // exportTo writes them into the initializers, in their type and dims.
      mirror.exportTo(model);
      expect(Array.from(floatData(bn.mean.constant!))).toEqual(runningMean);
      expect(bn.variance.constant!.dims).toEqual([COUT]);
    } finally {
      mirror.dispose();
    }
  });

  it('normalizes with the batch statistics, and gives every parameter a gradient', () => {
    const { model } = smallNet();
    const bnOutput = model.graph.nodes.find((n) => n.opType === 'BatchNormalization')!.outputs[0]!;
    model.graph.outputs.push(bnOutput);
    const mirror = buildMirror(model);
    try {
      const input = tf.tensor(randomInput(2), [BATCH, CIN, SIZE, SIZE]);
      const { value, grads } = tf.variableGrads(() => tf.sum(mirror.forward({ input }, { training: true })[0]) as tf.Scalar);
      expect(Object.keys(grads)).toHaveLength(mirror.params.size);
      for (const [param, variable] of mirror.params) {
        expect(grads[variable.name]?.shape, param.name).toEqual(variable.shape);
        expect(grads[variable.name].isFinite().all().dataSync()[0], param.name).toBe(1);
      }
      // The builder's gamma is 1 and beta 0: each channel of the batch comes out with mean 0, variance ≈ 1.
      const [mean, variance] = tf.tidy(() => {
        const y = mirror.forward({ input }, { training: true })[1];
        const { mean, variance } = tf.moments(y, [0, 2, 3]);
        return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
      });
      mean.forEach((m) => expect(m).toBeCloseTo(0, 5));
      variance.forEach((v) => expect(v).toBeCloseTo(1, 3));
      tf.dispose([value, input, ...Object.values(grads)]);
    } finally {
      mirror.dispose();
    }
  });
});

describe('running statistics re-estimated on samples', () => {
  it('become the average of the batches\' statistics, and are put back when saved', () => {
    const { model, conv, bn } = smallNet();
    const xs = [randomInput(3), randomInput(4), randomInput(5)];
    const perBatch = xs.map((x) => channelStatistics(convolve(x, conv)));
    const average = (pick: (s: { mean: number[]; variance: number[] }) => number[]) =>
      Array.from({ length: COUT }, (_, c) => perBatch.reduce((a, s) => a + pick(s)[c], 0) / perBatch.length);
    const data = new Float32Array(xs.length * xs[0].length);
    xs.forEach((x, i) => data.set(x, i * x.length));
    const samples: Samples = { count: xs.length * BATCH, inputs: [{ name: 'input', sampleDims: [CIN, SIZE, SIZE], data }] };
    const mirror = buildMirror(model);
    try {
      const saved = saveStatistics(mirror);
      reestimateStatistics(mirror, samples, BATCH);
      const mean = Array.from(mirror.buffers.get(bn.mean)!.dataSync());
      const variance = Array.from(mirror.buffers.get(bn.variance)!.dataSync());
      average((s) => s.mean).forEach((m, c) => expect(mean[c]).toBeCloseTo(m, 5));
      average((s) => s.variance).forEach((v, c) => expect(variance[c]).toBeCloseTo(v, 4));
      // The builder's statistics (mean 0, variance 1) come back.
      restoreStatistics(saved);
      expect(Array.from(mirror.buffers.get(bn.mean)!.dataSync())).toEqual([0, 0, 0]);
      expect(Array.from(mirror.buffers.get(bn.variance)!.dataSync())).toEqual([1, 1, 1]);
      tf.dispose([...saved.values()]);
    } finally {
      mirror.dispose();
    }
  });
});

/** y = Dropout(x) with the default ratio 0.5 (opset 13), for x of [2, 1000]. */
function dropoutModel(): Model {
  const graph = new Graph();
  const x = graph.ensureValue('x');
  x.type = tensorType(DataType.FLOAT, [2, 1000]);
  const y = graph.ensureValue('y');
  y.type = tensorType(DataType.FLOAT, [2, 1000]);
  graph.inputs.push(x);
  graph.outputs.push(y);
  graph.addNode('Dropout', [x], [y]);
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

describe('Dropout', () => {
  /** Inputs in [1, 2): a dropped element is the only 0. */
  const input = () => tf.tidy(() => tf.add(tf.randomUniform([2, 1000], 0, 1, 'float32', 3), 1));

  it('is the identity in eval mode', () => {
    const mirror = buildMirror(dropoutModel());
    const x = input();
    const y = tf.tidy(() => mirror.forward({ x }, { training: false })[0]);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
    mirror.dispose();
  });

  it('drops about half of the elements in training mode and scales the rest by 2, the same way for the same seed', () => {
    const mirror = buildMirror(dropoutModel());
    const x = input();
    const run = (seed: number) => tf.tidy(() => Array.from(mirror.forward({ x }, { training: true, seed })[0].dataSync()));
    const [first, again, other] = [run(11), run(11), run(12)];
    const values = Array.from(x.dataSync());
    const dropped = first.filter((v) => v === 0).length;
    expect(dropped).toBeGreaterThan(800);
    expect(dropped).toBeLessThan(1200);
    expect(first.every((v, i) => v === 0 || Math.abs(v - 2 * values[i]) < 1e-6)).toBe(true);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    x.dispose();
    mirror.dispose();
  });
});
