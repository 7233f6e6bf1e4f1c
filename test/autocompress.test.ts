/**
 * --method autocompress and admm end to end on a tiny model (rounds of search, ADMM and pruning,
 * then the masked retrain, the final prune and its verification), exact resumes inside the rounds,
 * and budgets with DHSPG.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type DataSplits } from '../src/data/index.js';
import { schemaViolations, validateJson } from '../src/io/json-schema.js';
import { admm, autocompress } from '../src/methods/admm/index.js';
import type { RoundsSettings } from '../src/methods/admm/plan.js';
import { ANNEALING_DEFAULTS } from '../src/methods/admm/search.js';
import { dhspg, dhspgSettings } from '../src/methods/dhspg/index.js';
import type { MethodPlugin, MethodUse } from '../src/methods/method.js';
import { nominalSparsity, type PruningTarget } from '../src/methods/target.js';
import { encodeModel } from '../src/onnx/write.js';
import { compress } from '../src/pipeline/compress.js';
import type { PipelineInput, RunControl } from '../src/pipeline/plan.js';
import type { CompressionResult } from '../src/pipeline/report.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import { ensureBuilt, otoc } from './cli.js';
import { smallCnn, smallCnnInput } from './pipeline-input.js';
import { expectSameTraining } from './same-training.js';

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
const KEEP = 0.4;
const TARGET: PruningTarget = { targetSparsity: nominalSparsity(KEEP), groupDivisible: 1, channelFloor: 0, budget: { kind: 'params', keep: KEEP } };
/** Two rounds of two ADMM iterations; 5 temperature levels (T 100 → 60) of one candidate each. */
const SETTINGS: RoundsSettings = {
  base: SGD,
  seed: 0,
  target: TARGET,
  rounds: 2,
  iterations: 2,
  rho: 1e-2,
  rhoGrowth: 2,
  warmUp: 0.2,
  retrain: 0.3,
  rates: { kind: 'search', samples: 50, statistics: 64, runtime: 'onnxruntime', annealing: { ...ANNEALING_DEFAULTS, stopTemperature: 60, evaluationsPerLevel: 1 } },
};
const AUTOCOMPRESS: MethodUse = { plugin: autocompress as MethodPlugin, settings: SETTINGS };

let data: DataSplits;
const dir = mkdtempSync(join(tmpdir(), 'otoc-autocompress-'));

beforeAll(async () => {
  await initBackend('wasm');
  data = await loadDataset('fashion-mnist', { valSplit: 10, limit: 256 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The small CNN's pipeline input, the validation images also as the search's samples. */
function input(method: MethodUse, target = TARGET): PipelineInput {
  const i = smallCnnInput(data, method, SGD, 0.05, { target });
  return { ...i, data: { ...i.data, val: i.evaluation!.samples } };
}

/** Runs autocompress; `stop` aborts it when it returns true for a step name and a training step or progress line. */
async function run(control: RunControl = {}, stop?: (step: string, event: number | string) => boolean) {
  const abort = new AbortController();
  let step = '';
  const done = await compress(input(AUTOCOMPRESS), {
    ...control,
    signal: abort.signal,
    observer: {
      onStep: (name) => (step = name),
      onMessage: (line) => stop?.(step, line) && abort.abort(),
      training: { onStep: (r) => stop?.(step, r.step) && abort.abort() },
    },
  });
  return done && { ...done, model: done.small };
}

/** `value` without the times it holds (`seconds`, `secondsPerCandidate`), which differ from run to run. */
function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === 'seconds' || key === 'secondsPerCandidate' ? undefined : v)));
}

describe('--method autocompress', () => {
  let straight: NonNullable<Awaited<ReturnType<typeof run>>>;
  beforeAll(async () => {
    straight = (await run())!;
  });

  it('searches, enforces and prunes in rounds to a small model that verifies, within the measured budget', () => {
    const r = straight.result;
    expect(r.equivalence.equivalent).toBe(true);
    expect(r.budget).toMatchObject({ kind: 'params', asked: KEEP });
    expect(r.budget!.reached).toBeLessThanOrEqual(KEEP);
    expect(r.small.parameters / r.budget!.original.parameters).toBeCloseTo(r.budget!.reached, 12);
    validateJson('report.schema.json', { model: 'cnn.onnx', output: 'small.onnx', ...r });
    // The schema holds the rounds methods' section to its shape.
    const without = (key: string) => ({ model: 'cnn.onnx', output: 'small.onnx', ...r, method: { ...r.method, [key]: undefined } });
    for (const key of ['rates', 'rounds', 'seconds', 'removed']) expect(schemaViolations('report.schema.json', without(key))).toContain(`/method must have required property '${key}'`);
  });

  it('reports the rates, the search trace, the residuals, the time per phase and what it removed', () => {
    const m = straight.result.method as Record<string, any>;
    expect(m.rates.map((x: any) => x.stems)).toEqual([['conv1'], ['conv2'], ['conv3']]);
    for (const x of m.rates) expect(x.rate).toBeGreaterThanOrEqual(0);
    expect(m.rounds).toHaveLength(2);
    const [first] = m.rounds;
    expect(first.search.levels.map((l: any) => l.temperature.toFixed(1))).toEqual(['100.0', '90.0', '81.0', '72.9', '65.6']);
    expect(first.search.levels[0]).toMatchObject({ scores: [expect.any(Number)], accepted: expect.any(Boolean), best: expect.any(Number) });
    expect(first.residuals).toHaveLength(2);
    expect(first.removed.zero).toBeGreaterThan(0);
    expect(Object.keys(m.seconds)).toEqual(['warmUp', 'rates', 'admm', 'prune', 'retrain']);
    expect(m.removed.zero + m.removed.dead).toBeGreaterThan(0);
    // The first round pruned the model the second round searched on: its sets are smaller.
    expect(m.rounds[1].rates[1].channels).toBeLessThan(first.rates[1].channels);
  });

  it('resumes a run stopped inside the second round\'s ADMM to the uninterrupted result', async () => {
    const checkpoint = { dir: join(dir, 'admm'), everyEpoch: false, meta: { run: 'admm' }, resume: false };
    expect(await run({ checkpoint }, (step, event) => step === 'admm 2' && event === 2)).toBeUndefined();
    const resumed = (await run({ checkpoint: { ...checkpoint, resume: true } }))!;
    expectSameTraining(resumed.small, straight.small);
    expect(withoutTimes(resumed.result.method.rounds)).toEqual(withoutTimes(straight.result.method.rounds));
  });

  it('resumes a run stopped inside the second round\'s search to the uninterrupted result', async () => {
    const checkpoint = { dir: join(dir, 'search'), everyEpoch: false, meta: { run: 'search' }, resume: false };
    expect(await run({ checkpoint }, (step, event) => step === 'rates 2' && String(event).includes('T 90.0'))).toBeUndefined();
    const resumed = (await run({ checkpoint: { ...checkpoint, resume: true } }))!;
    expectSameTraining(resumed.small, straight.small);
  });
});

describe('--method admm', () => {
  it('prunes with the rates of a file (as a report names them), scaled to the target, to a small model that verifies', async () => {
    const rates = { rates: [{ stems: ['conv2'], rate: 0.5 }, { stems: ['conv3'], rate: 0.25 }] };
    const settings: RoundsSettings = { ...SETTINGS, rounds: 1, rates: { kind: 'file', file: 'rates.json', ...rates } };
    const r: CompressionResult = (await compress(input({ plugin: admm as MethodPlugin, settings })))!.result;
    expect(r.equivalence.equivalent).toBe(true);
    expect(r.budget).toMatchObject({ kind: 'params', asked: KEEP });
    expect(r.budget!.reached).toBeLessThanOrEqual(KEEP);
    validateJson('report.schema.json', { model: 'cnn.onnx', output: 'small.onnx', ...r });
    expect((r.method.rounds as { search?: unknown }[])[0].search).toBeUndefined();
    const chosen = (r.method.rates as { stems: string[]; rate: number }[]).map((x) => [x.stems[0], x.rate]);
    // conv1 is not in the file: it keeps every channel; conv2 loses about twice the share conv3 does.
    expect(chosen[0]).toEqual(['conv1', 0]);
    expect((chosen[1][1] as number) / (chosen[2][1] as number)).toBeCloseTo(2, 0);
  });

  it('trains its rounds on worker threads (the proximal term on the master gradients) to the model one thread trains', async () => {
    const settings: RoundsSettings = { ...SETTINGS, rounds: 1, rates: { kind: 'uniform' } };
    const sharded = (workers: number) => {
      const i = input({ plugin: admm as MethodPlugin, settings });
      return compress({ ...i, config: { ...i.config, shards: 2, workers } });
    };
    const [threads, one] = [(await sharded(1))!, (await sharded(0))!];
    expect(threads.result.equivalence.equivalent).toBe(true);
    expectSameTraining(threads.small, one.small);
  });
});

describe('budgets with DHSPG', () => {
  it('partitions until the measured budget is met', async () => {
    const target: PruningTarget = { ...TARGET, budget: { kind: 'macs', keep: 0.3 } };
    const settings = dhspgSettings(SGD, target, 0, { startPruning: { steps: 2 }, deadline: 0.5 });
    const r = (await compress(input({ plugin: dhspg as MethodPlugin, settings }, target)))!.result;
    expect(r.equivalence.equivalent).toBe(true);
    expect(r.budget).toMatchObject({ kind: 'macs', asked: 0.3 });
    expect(r.budget!.reached).toBeLessThanOrEqual(0.3);
    expect(r.budget!.reached).toBeGreaterThan(0.2);
  });
});

describe('otoc compress with the rounds methods', () => {
  const model = join(dir, 'cnn.onnx');
  beforeAll(() => {
    ensureBuilt();
    writeFileSync(model, encodeModel(smallCnn()).model);
  });

  it('explains both methods and their options in --help', () => {
    const help = otoc('compress', '--help').stdout;
    expect(help).toMatch(/admm: ADMM structured pruning/);
    expect(help).toMatch(/autocompress: AutoCompress: each round searches/);
    expect(help).toMatch(/admm and autocompress options \(--method admm, autocompress\):[\s\S]*--rho-growth[\s\S]*admm options \(--method admm\):\s+--rates/);
    expect(help).toMatch(/autocompress options \(--method autocompress\):[\s\S]*--search-samples/);
    expect(help).toMatch(/--target-params/);
  });

  it('refuses bad options in one line', () => {
    const refused = (args: string[], message: RegExp) => {
      const r = otoc('compress', model, '-o', join(dir, 'x.onnx'), ...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    };
    refused(['--target-params', '0.1', '--target-macs', '0.2'], /^otoc: give at most one of --target-sparsity, --target-params and --target-macs/);
    refused(['--method', 'admm', '--search-samples', '10'], /^otoc: --search-samples is an option of --method autocompress, not of --method admm/);
    refused(['--method', 'autocompress', '--warm-up', '0.6', '--retrain', '0.5'], /^otoc: --warm-up and --retrain leave no steps to the rounds/);
    refused(['--method', 'autocompress', '--search-statistics', '-1'], /^otoc: --search-statistics must be a whole number ≥ 0, got -1/);
    const bad = join(dir, 'bad-rates.json');
    writeFileSync(bad, JSON.stringify({ rates: [{ stems: ['conv2'], rate: 1.5 }] }));
    refused(['--method', 'admm', '--rates', bad], /^otoc: .*bad-rates\.json: every entry needs "stems" \(node names\) and a "rate" in \[0, 1\)/);
  });
});
