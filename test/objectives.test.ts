/** Objectives other than cross-entropy, on a model of two inputs and two outputs built with the IR. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Samples } from '../src/data/index.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model, Value } from '../src/ir/graph.js';
import { makeTensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { combineObjectives, type ObjectivePlugin } from '../src/objectives/objective.js';
import { crossEntropyObjective } from '../src/objectives/cross-entropy.js';
import { mseObjective } from '../src/objectives/mse.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS } from '../src/train/optimizer.js';
import { EVAL_BATCH_SIZE, Trainer, type TrainerState } from '../src/train/trainer.js';
import { Rng } from '../src/util/random.js';
import * as tf from '@tensorflow/tfjs';

/** `y = a·Wa + ba` ([N, 4] → [N, 3]) and `z = b·Wb` ([N, 5] → [N, 2]), weights drawn from `seed`. */
function twoHeads(seed: number): Model {
  const rng = new Rng(seed);
  const graph = new Graph();
  const value = (name: string, dims: (number | string)[]) => {
    const v = graph.ensureValue(name);
    v.type = tensorType(DataType.FLOAT, dims);
    return v;
  };
  const weight = (name: string, dims: number[]): Value => {
    const v = graph.ensureValue(name);
    graph.addInitializer(v, makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d) }, () => 0.5 * rng.normal())));
    return v;
  };
  const [a, b, y, z] = [value('a', ['N', 4]), value('b', ['N', 5]), value('y', ['N', 3]), value('z', ['N', 2])];
  graph.inputs.push(a, b);
  graph.outputs.push(y, z);
  graph.addNode('Gemm', [a, weight('Wa', [4, 3]), weight('ba', [3])], [y]);
  graph.addNode('MatMul', [b, weight('Wb', [5, 2])], [z]);
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

/** 256 samples of both inputs, with the outputs of the model of seed 99 as targets. */
function teacherSamples(): Samples {
  const rng = new Rng(7);
  const count = 256;
  const a = Float32Array.from({ length: count * 4 }, () => rng.normal());
  const b = Float32Array.from({ length: count * 5 }, () => rng.normal());
  const teacher = twoHeads(99).graph;
  const w = (name: string) => teacher.lookup(name)!.constant!.data as Float32Array;
  const [Wa, ba, Wb] = [w('Wa'), w('ba'), w('Wb')];
  const y = new Float32Array(count * 3);
  const z = new Float32Array(count * 2);
  for (let n = 0; n < count; n++) {
    for (let j = 0; j < 3; j++) {
      y[n * 3 + j] = ba[j];
      for (let i = 0; i < 4; i++) y[n * 3 + j] += a[n * 4 + i] * Wa[i * 3 + j];
    }
    for (let j = 0; j < 2; j++) for (let i = 0; i < 5; i++) z[n * 2 + j] += b[n * 5 + i] * Wb[i * 2 + j];
  }
  return {
    count,
    inputs: [
      { name: 'a', sampleDims: [4], data: a },
      { name: 'b', sampleDims: [5], data: b },
    ],
    targets: [
      { name: 'y', sampleDims: [3], data: y },
      { name: 'z', sampleDims: [2], data: z },
    ],
  };
}

const SGD = { plugin: plainTraining as MethodPlugin, settings: { ...BASE_DEFAULTS, kind: 'sgd' as const, momentum: 0.9 } };
const MSE = { plugin: mseObjective as ObjectivePlugin, settings: {} };

async function train(shards: number, workers: number): Promise<{ state: TrainerState; before: number; after: number }> {
  const data = teacherSamples();
  const config = { epochs: 8, batchSize: 32, lr: 0.05, schedule: 'constant' as const, seed: 0, evalBatchSize: EVAL_BATCH_SIZE, shards, workers };
  const trainer = new Trainer(analyzeModel(twoHeads(1)), { train: data, val: data }, config, { method: SGD, objectives: [MSE] });
  try {
    const before = (await trainer.evaluate(data)).loss;
    await trainer.fit();
    return { state: trainer.state(), before, after: (await trainer.evaluate(data)).loss };
  } finally {
    await trainer.dispose();
  }
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('an MSE objective on a two-input, two-output model', () => {
  it('trains both heads toward the targets, on one thread and on two alike', async () => {
    const one = await train(1, 0);
    expect(one.after).toBeLessThan(0.01 * one.before);
    expect(one.state.history.at(-1)!.trainAccuracy).toBeUndefined();
    const two = await train(2, 1);
    expect(two.after).toBeLessThan(0.01 * two.before);
    const here = await train(2, 0);
    expect(two.state.history.map((e) => e.trainLoss)).toEqual(here.state.history.map((e) => e.trainLoss));
    expect(two.state.variables['param:Wb']).toEqual(here.state.variables['param:Wb']);
  });

  it('refuses data without a target for an output, naming it', () => {
    const data = { ...teacherSamples(), targets: [] };
    const config = { epochs: 1, batchSize: 32, lr: 0.05, schedule: 'constant' as const, seed: 0, evalBatchSize: EVAL_BATCH_SIZE };
    expect(() => new Trainer(analyzeModel(twoHeads(1)), { train: data }, config, { method: SGD, objectives: [MSE] })).toThrow(
      "the data has no target for the output 'y'",
    );
  });

  it('refuses cross-entropy on a model with two outputs', () => {
    const data = teacherSamples();
    const config = { epochs: 1, batchSize: 32, lr: 0.05, schedule: 'constant' as const, seed: 0, evalBatchSize: EVAL_BATCH_SIZE };
    const ce = { plugin: crossEntropyObjective as ObjectivePlugin, settings: {} };
    expect(() => new Trainer(analyzeModel(twoHeads(1)), { train: data }, config, { method: SGD, objectives: [ce] })).toThrow(
      /one output \(the logits\); this model has 2/,
    );
  });
});

describe('a weighted sum of objectives', () => {
  it('adds the parts times their weights and merges their metrics', () => {
    const constant = (v: number, metric: string) => ({ loss: () => tf.scalar(v), metrics: () => ({ [metric]: tf.scalar(v) }) });
    const sum = combineObjectives([
      { objective: constant(2, 'first'), weight: 0.25 },
      { objective: constant(3, 'second'), weight: 2 },
    ]);
    const batch = { count: 1, inputs: {}, targets: {} };
    tf.tidy(() => {
      expect(sum.loss(new Map(), batch).dataSync()[0]).toBeCloseTo(0.25 * 2 + 2 * 3, 6);
      expect(Object.keys(sum.metrics!(new Map(), batch))).toEqual(['first', 'second']);
    });
  });
});
