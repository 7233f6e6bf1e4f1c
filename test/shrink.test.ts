/** Training the small network once DHSPG's zero groups are settled (src/train/shrink.ts). */
import { beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { loadDataset, modelImageSamples, type DataSplits } from '../src/data/index.js';
import { dhspg as dhspgMethod, type DhspgSettings } from '../src/methods/dhspg/index.js';
import { Dhspg, dhspgDefaults } from '../src/methods/dhspg/optimizer.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import type { ShrinkReport } from '../src/train/shrink.js';
import { EVAL_BATCH_SIZE, Trainer, type Evaluation, type TrainConfig, type TrainerState } from '../src/train/trainer.js';

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
const CONFIG: TrainConfig = { epochs: 2, batchSize: 32, lr: 0.05, schedule: 'cosine', seed: 1, evalBatchSize: EVAL_BATCH_SIZE };
/** 16 steps: groups chosen at step 2, the target (0.5) due by step 8. */
const STEPS = 16;

let data: DataSplits;

beforeAll(async () => {
  await initBackend('wasm');
  data = await loadDataset('fashion-mnist', { valSplit: 10, limit: 256 });
});

function dhspg(): DhspgSettings {
  return {
    base: SGD,
    targetSparsity: 0.5,
    ...dhspgDefaults('sgd'),
    groupDivisible: 1,
    seed: 0,
    startPruning: { steps: 2 },
    deadline: 0.5,
  };
}

const smallCnn = () => zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });
const valSamples = () => modelImageSamples(smallCnn(), data.val!);

function trainerOf(config: Partial<TrainConfig>, settings = dhspg()): Trainer {
  const model = smallCnn();
  const samples = { train: modelImageSamples(model, data.train), val: valSamples() };
  const method = { plugin: dhspgMethod as MethodPlugin, settings };
  return new Trainer(analyzeModel(model), samples, { ...CONFIG, ...config }, { method, objectives: [CROSS_ENTROPY] });
}

interface Run {
  state: TrainerState;
  shrinks: ShrinkReport[];
  zeroGroups: number[];
  val: Evaluation;
}

async function run(config: Partial<TrainConfig>): Promise<Run> {
  const trainer = trainerOf(config);
  const shrinks: ShrinkReport[] = [];
  try {
    await trainer.fit({ onShrink: (r) => shrinks.push(r) });
    const zeroGroups = (trainer.method.optimizer as Dhspg).zeroZigs();
    return { state: trainer.state(), shrinks, zeroGroups, val: await trainer.evaluate(valSamples()) };
  } finally {
    await trainer.dispose();
  }
}

/** Over the variables whose key starts with `kind` (all by default). */
function maxAbsDiff(a: TrainerState, b: TrainerState, kind = ''): number {
  let most = 0;
  for (const [key, values] of Object.entries(a.variables).filter(([k]) => k.startsWith(kind))) {
    const other = b.variables[key];
    expect(other?.length, key).toBe(values.length);
    for (let i = 0; i < values.length; i++) most = Math.max(most, Math.abs(values[i] - other[i]));
  }
  return most;
}

describe('training the small network once the zero groups are settled', () => {
  let full: Run;
  let shrunk: Run;
  beforeAll(async () => {
    full = await run({ shrink: false });
    shrunk = await run({});
  });

  it('moves to the small network once, when the target is reached', () => {
    expect(full.shrinks).toEqual([]);
    expect(shrunk.shrinks).toHaveLength(1);
    const [r] = shrunk.shrinks;
    expect(r.step).toBeGreaterThan(2);
    expect(r.step).toBeLessThan(STEPS);
    expect(r.removedGroups).toBeGreaterThan(0);
    expect(r.smallParameters).toBeLessThan(r.fullParameters);
  });

  // The BatchNorm statistics of the removed channels differ: the full network's keep tracking a
  // zero channel, the small network has none. They are multiplied by zero in eval mode.
  it('trains the same network as the full one, up to float rounding', () => {
    expect(shrunk.zeroGroups).toEqual(full.zeroGroups);
    expect(maxAbsDiff(full.state, shrunk.state, 'param:')).toBeLessThan(1e-4);
    expect(shrunk.state.history[1].trainLoss).toBeCloseTo(full.state.history[1].trainLoss, 4);
    expect(shrunk.val.accuracy).toBe(full.val.accuracy);
    expect(shrunk.val.loss).toBeCloseTo(full.val.loss, 4);
  });

  it('keeps full-shape state: evaluating it on the full network gives the small network’s result', async () => {
    const fresh = trainerOf({});
    try {
      fresh.restore(shrunk.state);
      const val = await fresh.evaluate(valSamples());
      expect(val.accuracy).toBe(shrunk.val.accuracy);
      expect(val.loss).toBeCloseTo(shrunk.val.loss, 5);
    } finally {
      await fresh.dispose();
    }
  });

  it('resumes from a checkpoint taken after the move bit for bit', async () => {
    const first = trainerOf({});
    const stopAfter = shrunk.shrinks[0].step + 3;
    const stop = new AbortController();
    let saved: TrainerState;
    try {
      await first.fit({ onStep: (r) => r.step === stopAfter && stop.abort() }, stop.signal);
      saved = decodeCheckpoint(Buffer.concat(encodeCheckpoint({ meta: {}, trainer: first.state() }))).trainer!;
    } finally {
      await first.dispose();
    }
    const second = trainerOf({});
    const shrinks: ShrinkReport[] = [];
    try {
      second.restore(saved);
      expect(await second.fit({ onShrink: (r) => shrinks.push(r) })).toBe(true);
      expect(shrinks.map((r) => r.step)).toEqual([stopAfter]);
      const resumed = second.state();
      expect(maxAbsDiff(shrunk.state, resumed)).toBe(0);
      expect(resumed.optimizer).toEqual(shrunk.state.optimizer);
    } finally {
      await second.dispose();
    }
  });

  it('runs the small network in the worker threads too', async () => {
    const here = await run({ shards: 2, workers: 0 });
    const threads = await run({ shards: 2, workers: 1 });
    expect(here.shrinks).toHaveLength(1);
    expect(threads.shrinks).toEqual(here.shrinks);
    expect(maxAbsDiff(here.state, threads.state)).toBeLessThan(1e-5);
    expect(threads.state.history.map((e) => e.trainLoss)).toEqual(here.state.history.map((e) => e.trainLoss));
  });
});
