/** The compression pipeline: plans of stages, one analysis per model version, checkpoints across stages. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { loadDataset, type DataSplits } from '../src/data/index.js';
import { dhspg, dhspgSettings } from '../src/methods/dhspg/index.js';
import type { MethodPlugin, MethodUse } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { encodeModel } from '../src/onnx/write.js';
import { compress } from '../src/pipeline/compress.js';
import { PipelineContext, type PipelineInput, type PlanStep, type RunControl } from '../src/pipeline/plan.js';
import { stages } from '../src/pipeline/stages.js';
import type { Json } from '../src/plugins.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import { expectSameTraining } from './same-training.js';
import { smallCnnInput } from './pipeline-input.js';

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
const TARGET = { targetSparsity: 0.5, groupDivisible: 1, channelFloor: 0 };
let data: DataSplits;
const dir = mkdtempSync(join(tmpdir(), 'otoc-pipeline-'));

beforeAll(async () => {
  await initBackend('wasm');
  data = await loadDataset('fashion-mnist', { valSplit: 10, limit: 256 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(method: MethodUse): PipelineInput {
  return smallCnnInput(data, method, SGD, 0.05, { target: TARGET });
}

const DHSPG: MethodUse = { plugin: dhspg as MethodPlugin, settings: dhspgSettings(SGD, TARGET, 0, { startPruning: { steps: 2 }, deadline: 0.5 }) };
const PLAIN: MethodUse = { plugin: plainTraining as MethodPlugin, settings: SGD };

/** DHSPG, then the small model fine-tuned with plain SGD: a plan with two trainings around a change of model. */
function roundsPlan(): PlanStep[] {
  const s = stages();
  return [s.analyze, s.train(), s.export, s.reduce, s.train({ name: 'fine-tune', method: PLAIN, config: { epochs: 1 } }), s.export];
}

/** Runs the plan; with `stopAt`, aborts the fine-tuning after that many of its steps. */
async function runRounds(control: RunControl, stopAt?: number): Promise<{ finished: boolean; model: Uint8Array }> {
  const abort = new AbortController();
  let step = '';
  const ctx = new PipelineContext(input(DHSPG), {
    ...control,
    signal: abort.signal,
    observer: {
      onStep: (name) => (step = name),
      training: { onStep: (r) => step === 'fine-tune' && r.step === stopAt && abort.abort() },
    },
  });
  const finished = await ctx.run(roundsPlan());
  return { finished, model: encodeModel(ctx.model).model };
}

describe('the compression pipeline', () => {
  it('runs the default plan and reports the method, its settings and its own figures', async () => {
    const done = (await compress(input(DHSPG)))!;
    const r = done.result;
    expect(r.equivalence.equivalent).toBe(true);
    expect(r.small.parameters).toBeLessThan(r.full.parameters);
    expect(r.method).toMatchObject({ name: 'dhspg', settings: DHSPG.settings as Json });
    expect(r.method.groupSparsity).toBeGreaterThanOrEqual(0.5);
    expect(r.training.optimizer).toBe('dhspg-sgd');
  });

  it('analyzes each model version once', () => {
    const ctx = new PipelineContext(input(DHSPG), {});
    const first = ctx.analysis();
    expect(ctx.analysis()).toBe(first);
    ctx.replaceModel(zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 1 }));
    expect(ctx.analysis()).not.toBe(first);
  });

  it('resumes a plan stopped in its second training, after the model changed, to the uninterrupted result', async () => {
    const straight = await runRounds({});
    expect(straight.finished).toBe(true);
    const checkpoint = { dir: join(dir, 'rounds'), everyEpoch: false, meta: { run: 'rounds' }, resume: false };
    const stopped = await runRounds({ checkpoint }, 3);
    expect(stopped.finished).toBe(false);
    const resumed = await runRounds({ checkpoint: { ...checkpoint, resume: true } });
    expect(resumed.finished).toBe(true);
    expectSameTraining(resumed.model, straight.model);
    // The fine-tuned model is the pruned one, not the full one the run started from.
    expect(resumed.model.byteLength).toBeLessThan(encodeModel(input(DHSPG).model).model.byteLength);
  });

  it('refuses to resume a checkpoint of another run, naming what differs', async () => {
    const checkpoint = { dir: join(dir, 'rounds'), everyEpoch: false, meta: { run: 'other' }, resume: true };
    await expect(runRounds({ checkpoint })).rejects.toThrow(/checkpoint is of a different run: run \("rounds" there, "other" now\)/);
  });
});
