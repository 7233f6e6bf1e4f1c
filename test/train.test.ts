/** The trainer on the zoo's small CNN and Fashion-MNIST: learning, determinism, resume, memory, method plug-in points. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { loadDataset, modelImageSamples, type DataSplits } from '../src/data/index.js';
import type { Model, Value } from '../src/ir/graph.js';
import type { MethodPlugin, MethodSession, MethodUse, NetworkHooks, NetworkSetup, TrainingSetup } from '../src/methods/method.js';
import { Dhspg, dhspgDefaults } from '../src/methods/dhspg/optimizer.js';
import { plainTraining } from '../src/methods/plain.js';
import type { Mirror } from '../src/mirror/mirror.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BaseOptimizer } from '../src/train/base-optimizers.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { groupVectors } from '../src/train/group-vectors.js';
import { BASE_DEFAULTS, type BaseOptions, type Optimizer } from '../src/train/optimizer.js';
import type { EpochReport } from '../src/train/observer.js';
import { EVAL_BATCH_SIZE, Trainer, type TrainConfig, type TrainerState } from '../src/train/trainer.js';
import { channelMask, pullToZero } from './fixtures/methods.js';

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
const sgd = (setup: TrainingSetup): Optimizer => new BaseOptimizer(setup.params, SGD);
const CONFIG: TrainConfig = { epochs: 2, batchSize: 32, lr: 0.05, schedule: 'cosine', seed: 1, evalBatchSize: EVAL_BATCH_SIZE };

/** The parts of a method a test gives: the optimizer, more of the session, network hooks. */
interface TestMethod {
  optimizer?: (setup: TrainingSetup) => Optimizer;
  session?: (setup: TrainingSetup) => Omit<MethodSession, 'optimizer'>;
  network?: (setup: NetworkSetup) => NetworkHooks;
}

function testMethod(m: TestMethod): MethodUse {
  const plugin: MethodPlugin = {
    name: 'test',
    module: import.meta.url,
    exportName: 'none',
    summary: 'a test method',
    session: (_settings, setup) => ({ optimizer: (m.optimizer ?? sgd)(setup), ...m.session?.(setup) }),
    ...(m.network && { network: (_settings: unknown, setup: NetworkSetup) => m.network!(setup) }),
  };
  return { plugin, settings: {} };
}

/** 256 training images and 10 validation images per class. */
let small: DataSplits;

beforeAll(async () => {
  await initBackend('wasm');
  small = await loadDataset('fashion-mnist', { valSplit: 10, limit: 256 });
});

function smallCnn(): Model {
  return zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });
}

/** Plain SGD, from a module a worker thread can load. */
const PLAIN: MethodUse = { plugin: plainTraining as MethodPlugin, settings: SGD };

function trainerOf(config: Partial<TrainConfig> = {}, method: TestMethod | MethodUse = PLAIN, data = small): Trainer {
  const model = smallCnn();
  const samples = { train: modelImageSamples(model, data.train), val: data.val && modelImageSamples(model, data.val) };
  const use = 'plugin' in method ? method : testMethod(method);
  return new Trainer(analyzeModel(model), samples, { ...CONFIG, ...config }, { method: use, objectives: [CROSS_ENTROPY] });
}

async function trained(config: Partial<TrainConfig> = {}): Promise<TrainerState> {
  const trainer = trainerOf(config);
  try {
    await trainer.fit();
    return trainer.state();
  } finally {
    await trainer.dispose();
  }
}

/** Parameters and BN statistics, by key. */
function expectSameVariables(a: TrainerState, b: TrainerState): void {
  expect(Object.keys(a.variables).sort()).toEqual(Object.keys(b.variables).sort());
  for (const [key, values] of Object.entries(a.variables)) expect(b.variables[key], key).toEqual(values);
}

describe('training', () => {
  it('takes a small CNN above 60% validation accuracy in 1 epoch on 2,000 Fashion-MNIST images', async () => {
    const data = await loadDataset('fashion-mnist', { valSplit: 0.1, limit: 2000 });
    const trainer = trainerOf({ epochs: 1, batchSize: 16, lr: 0.1, seed: 0 }, PLAIN, data);
    const start = performance.now();
    const reports: EpochReport[] = [];
    try {
      await trainer.fit({ onEpoch: (r) => reports.push(r) });
    } finally {
      await trainer.dispose();
    }
    const [epoch] = reports;
    console.log(
      `small-cnn, 2,000 images, 1 epoch: val accuracy ${(100 * epoch.valAccuracy!).toFixed(1)}% on ${data.val!.labels.length} images, ` +
        `train ${epoch.seconds.toFixed(1)} s (${epoch.imagesPerSecond.toFixed(0)} img/s), with validation ${((performance.now() - start) / 1000).toFixed(1)} s`,
    );
    expect(data.train.labels.length).toBe(2000);
    expect(epoch.valAccuracy).toBeGreaterThan(0.6);
  });

  it('gives the same weights for the same seed, bit for bit, and others for another seed', async () => {
    const [a, b, c] = [await trained(), await trained(), await trained({ seed: 2 })];
    expectSameVariables(a, b);
    expect(a.history.map((r) => r.trainLoss)).toEqual(b.history.map((r) => r.trainLoss));
    expect(c.variables['param:fc1.weight']).not.toEqual(a.variables['param:fc1.weight']);
  });

  it('keeps the live tensor count flat across epochs', async () => {
    const trainer = trainerOf({ epochs: 3 });
    const counts: number[] = [];
    try {
      await trainer.fit({ onEpoch: () => counts.push(tf.memory().numTensors) });
    } finally {
      await trainer.dispose();
    }
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
  });

  it('reports loss, accuracy and validation for every epoch', async () => {
    const { history } = await trained({ epochs: 2, schedule: 'constant' });
    expect(history.map((r) => r.epoch)).toEqual([1, 2]);
    for (const r of history) {
      expect(r.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.trainLoss).toBeGreaterThan(0);
      expect(r.imagesPerSecond).toBeGreaterThan(0);
      expect(r.lr).toBe(CONFIG.lr);
    }
    expect(history[1].step).toBe(2 * Math.ceil(256 / CONFIG.batchSize));
  });
});

describe('resuming from a checkpoint', () => {
  /** Trains until `stopAfter` steps, checkpoints through the file encoding, resumes in a fresh trainer. */
  async function interruptedRun(stopAfter: number): Promise<TrainerState> {
    const first = trainerOf();
    const stop = new AbortController();
    let saved: TrainerState;
    try {
      const finished = await first.fit({ onStep: (r) => r.step === stopAfter && stop.abort() }, stop.signal);
      expect(finished).toBe(false);
      saved = decodeCheckpoint(Buffer.concat(encodeCheckpoint({ meta: {}, trainer: first.state() }))).trainer!;
    } finally {
      await first.dispose();
    }
    const second = trainerOf();
    try {
      second.restore(saved);
      expect(await second.fit()).toBe(true);
      return second.state();
    } finally {
      await second.dispose();
    }
  }

  it('refuses optimizer state whose keys are not this run’s, before changing anything', async () => {
    const first = trainerOf();
    const state = first.state();
    await first.dispose();
    const { m0, ...rest } = state.optimizer;
    const second = trainerOf();
    try {
      const before = second.state();
      expect(() => second.restore({ ...state, optimizer: { ...rest, momentum0: m0 } })).toThrow(
        /^the checkpoint's optimizer state has nothing for 'm0', where this run has \d+ floats$/,
      );
      expectSameVariables(second.state(), before);
    } finally {
      await second.dispose();
    }
  });

  // Bit for bit: the resumed run sees the same float32 weights, BN statistics and momentum
  // buffers, the same batch order (a function of seed and epoch) and the same learning rates.
  it('reaches the uninterrupted run’s weights bit for bit, stopped at an epoch boundary or mid-epoch', async () => {
    const straight = await trained();
    const stepsPerEpoch = Math.ceil(256 / CONFIG.batchSize);
    for (const stopAfter of [stepsPerEpoch, stepsPerEpoch + 3]) {
      const resumed = await interruptedRun(stopAfter);
      expectSameVariables(straight, resumed);
      expect(resumed.optimizer).toEqual(straight.optimizer);
      expect(resumed.history.map(({ trainLoss, valLoss }) => [trainLoss, valLoss])).toEqual(
        straight.history.map(({ trainLoss, valLoss }) => [trainLoss, valLoss]),
      );
    }
  });
});

describe('data-parallel shards and worker threads', () => {
  // A worker thread runs the same kernels on the same weights, statistics and images as this
  // thread would, and the shards are combined in the same order: losses and weights match bit for
  // bit. BatchNorm running statistics differ in the last bits (≤ 1e-6 relative): some wasm
  // reduction kernels sum in an order that depends on where the data lies in the module's memory,
  // which differs between the two threads' wasm instances. They are only read in eval mode.
  it('trains the same with the second shard in a worker thread as on this thread', async () => {
    const here = await trained({ shards: 2, workers: 0 });
    const threaded = await trained({ shards: 2, workers: 1 });
    expect(threaded.history.map((r) => r.trainLoss)).toEqual(here.history.map((r) => r.trainLoss));
    for (const [key, values] of Object.entries(here.variables)) {
      const other = threaded.variables[key];
      if (key.startsWith('param:')) {
        expect(other, key).toEqual(values);
        continue;
      }
      const scale = Math.max(...values.map(Math.abs));
      expect(Math.max(...values.map((v, i) => Math.abs(v - other[i]))), key).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it('is plain training with one shard, and BatchNorm per shard with more', async () => {
    const plain = await trained();
    expectSameVariables(await trained({ shards: 1, workers: 1 }), plain);
    const sharded = await trained({ shards: 2 });
    expect(sharded.variables['buffer:bn1.running_mean']).not.toEqual(plain.variables['buffer:bn1.running_mean']);
  });

  /** The final state of a run with `method` on two shards, the second in a worker thread or not. */
  async function onTwoShards(method: MethodUse, workers: number): Promise<TrainerState> {
    const trainer = trainerOf({ shards: 2, workers }, method);
    try {
      await trainer.fit();
      return trainer.state();
    } finally {
      await trainer.dispose();
    }
  }

  // The worker thread loads the method's module and builds the same hooks from its settings.
  it('trains a method with a weight transform on a worker thread as on this thread', async () => {
    const masked: MethodUse = { plugin: channelMask as MethodPlugin, settings: { param: 'conv1.weight', masked: 8 } };
    const [here, threaded] = [await onTwoShards(masked, 0), await onTwoShards(masked, 1)];
    expect(threaded.history.map((r) => r.trainLoss)).toEqual(here.history.map((r) => r.trainLoss));
    expect(threaded.variables['param:conv1.weight']).toEqual(here.variables['param:conv1.weight']);
    // The masked channels get no gradient, so they move only by weight decay: the same in both runs.
    const initial = trainerOf().state().variables['param:conv1.weight'];
    const perChannel = initial.length / 16;
    const ratio = (i: number) => threaded.variables['param:conv1.weight'][i] / initial[i];
    const ratios = Array.from({ length: 8 * perChannel }, (_, i) => ratio(i));
    expect(Math.max(...ratios) - Math.min(...ratios)).toBeLessThan(1e-4);
    expect(Math.abs(ratio(8 * perChannel) - ratio(0))).toBeGreaterThan(1e-3);
  });

  it('trains a method with a gradient term on a worker thread as on this thread', async () => {
    const pulled: MethodUse = { plugin: pullToZero as MethodPlugin, settings: { param: 'fc1.bias', coefficient: 5 } };
    const [here, threaded] = [await onTwoShards(pulled, 0), await onTwoShards(pulled, 1)];
    expect(threaded.history.map((r) => r.trainLoss)).toEqual(here.history.map((r) => r.trainLoss));
    expect(threaded.variables['param:fc1.bias']).toEqual(here.variables['param:fc1.bias']);
    const plain = await trained({ shards: 2, workers: 1 });
    const norm = (a: Float32Array) => Math.hypot(...a);
    expect(norm(threaded.variables['param:fc1.bias'])).toBeLessThan(norm(plain.variables['param:fc1.bias']));
  });
});

describe('method plug-in points', () => {
  /** An optimizer that records the gradients it is given and changes nothing. */
  function recorder(into: Float32Array[][]): (setup: TrainingSetup) => Optimizer {
    return (): Optimizer => ({
      step: (grads) => void into.push(grads.map((g) => g.slice())),
      saveState: () => ({}),
      loadState: () => {},
    });
  }

  async function oneStepGradients(network?: TestMethod['network']): Promise<{ grads: Float32Array[]; names: string[] }> {
    const grads: Float32Array[][] = [];
    const names: string[] = [];
    const trainer = trainerOf({ epochs: 1 }, {
      optimizer: (setup) => {
        names.push(...setup.params.map((p) => p.value.name));
        return recorder(grads)(setup);
      },
      network,
    });
    const stop = new AbortController();
    try {
      await trainer.fit({ onStep: () => stop.abort() }, stop.signal);
    } finally {
      await trainer.dispose();
    }
    return { grads: grads[0], names };
  }

  const valueNamed = (mirror: Mirror, name: string): Value => [...mirror.params.keys()].find((v) => v.name === name)!;

  it('adds method loss terms to the loss', async () => {
    const plain = await oneStepGradients();
    // d/dW of 3·ΣW is 3 for every element of W.
    const withTerm = await oneStepGradients(({ mirror }) => ({
      lossTerm: (params) => tf.mul(3, tf.sum(params.get(valueNamed(mirror, 'fc1.bias'))!)) as tf.Scalar,
    }));
    plain.names.forEach((name, i) => {
      const expected = name === 'fc1.bias' ? plain.grads[i].map((g) => g + 3) : plain.grads[i];
      expect(Array.from(withTerm.grads[i]), name).toEqual(Array.from(expected).map((x) => expect.closeTo(x, 5)));
    });
  });

  it('runs the forward pass on transformed weights', async () => {
    // A mask over the first conv's output channels (a PEMN-style weight mask): no gradient
    // reaches the masked half of the weight, the rest trains.
    const mask = tf.tensor4d(Array.from({ length: 16 }, (_, c) => (c < 8 ? 0 : 1)), [16, 1, 1, 1]);
    const { grads, names } = await oneStepGradients(() => ({
      transform: (param, weight) => (param.name === 'conv1.weight' ? tf.mul(weight, mask) : weight),
    }));
    mask.dispose();
    const conv1 = grads[names.indexOf('conv1.weight')];
    const perChannel = conv1.length / 16;
    expect(conv1.subarray(0, 8 * perChannel).every((g) => g === 0)).toBe(true);
    expect(conv1.subarray(8 * perChannel).every((g) => g !== 0)).toBe(true);
  });

  it('trains only the variables a method chooses', async () => {
    const trainer = trainerOf({ epochs: 1 }, {
      network: ({ mirror }) => ({ trainedVariables: () => new Map([...mirror.params].filter(([v]) => v.name.startsWith('fc1.'))) }),
    });
    const before = trainer.state().variables;
    try {
      await trainer.fit();
      const after = trainer.state().variables;
      expect(after['param:conv1.weight']).toEqual(before['param:conv1.weight']);
      expect(after['param:fc1.weight']).not.toEqual(before['param:fc1.weight']);
    } finally {
      await trainer.dispose();
    }
  });

  it('plugs DHSPG in over the ZIG group vectors, with its statistics in the step and epoch reports', async () => {
    let dhspg: Dhspg | undefined;
    const trainer = trainerOf({ epochs: 2 }, {
      optimizer: (setup) => {
        const groups = groupVectors(setup.groups, setup.params);
        expect(groups.length).toBeGreaterThan(0);
        dhspg = new Dhspg(setup.params, groups, {
          base: SGD,
          targetSparsity: 0.5,
          ...dhspgDefaults('sgd'),
          lambda: 5,
          epsilon: 0.5,
          partitionStep: 2,
          halfSpaceStep: 4,
          groupDivisible: 1,
          seed: 0,
          deadlineStep: setup.totalSteps - 2,
        });
        return dhspg;
      },
      session: () => ({ afterStep: () => ({ sparsity: dhspg!.stats().sparsity }), afterEpoch: () => ({ zeroGroups: dhspg!.stats().zeroGroups }) }),
    });
    const sparsity: number[] = [];
    const epochs: EpochReport[] = [];
    try {
      await trainer.fit({ onStep: (r) => sparsity.push(r.extra.sparsity), onEpoch: (r) => epochs.push(r) });
    } finally {
      await trainer.dispose();
    }
    expect(sparsity).toHaveLength(trainer.totalSteps);
    expect(sparsity.at(-1)).toBeGreaterThan(0);
    expect(epochs.at(-1)!.extra.zeroGroups).toBeGreaterThan(0);
  });

  it('keeps method state in checkpoints', async () => {
    let loaded: unknown;
    const method: TestMethod = {
      session: () => ({
        saveState: () => ({ z: Float32Array.of(1, 2), rounds: 3 }),
        loadState: (state) => void (loaded = state),
      }),
    };
    const first = trainerOf({ epochs: 1 }, method);
    const state = first.state();
    await first.dispose();
    const second = trainerOf({ epochs: 1 }, method);
    second.restore(state);
    await second.dispose();
    expect(loaded).toEqual({ z: Float32Array.of(1, 2), rounds: 3 });
  });
});
