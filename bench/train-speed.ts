/**
 * Training speed of the zoo's VGG-like and ResNet-like CNNs on 28×28 inputs: otoc's trainer (SGD,
 * momentum 0.9) against the same network in PyTorch (bench/torch_train_speed.py, run when
 * /usr/bin/python3 can import torch), at batch 32, 64 and 128. Both sides: data in memory as
 * float32, BatchNorm in training mode, 3 warm-up steps then 20 timed. Each repeat runs every otoc
 * configuration and then PyTorch, so that both see the same load; a ratio is otoc's time over
 * PyTorch's in the same repeat, and the reported time per step is the median of 3 repeats.
 *
 * OTOC_BENCH_BATCHES (a comma list, e.g. 64) and OTOC_BENCH_MODELS (vgg, resnet) pick a subset.
 * OTOC_BENCH_PROFILE=1 profiles a step instead (bench/train-profile.ts; results in
 * bench/results/train-speed-profile.json).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { zooEntry } from '../models/zoo.js';
import { modelImageSamples, type Dataset } from '../src/data/index.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import type { StepPhases } from '../src/train/reports.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/random.js';
import { Benchmark, ReportRow, envList, median } from './harness.js';
import { profileRows, profileSteps } from './train-profile.js';
import { torchArchitecture } from './torch-architecture.js';

const MODELS = ['vgg', 'resnet'];
type ModelName = (typeof MODELS)[number];
const BATCHES = ['32', '64', '128'];
/** The batch of the headline figures (`models.<net>.otoc`, `models.<net>.torch`). */
const HEADLINE_BATCH = 64;
/** otoc with the whole batch in one process (as PyTorch), and data-parallel over two shards (BatchNorm statistics per half batch). */
const SHARDS = [1, 2];
const INPUT = [1, 28, 28];
const CLASSES = 10;
const WARMUP = 3;
const STEPS = 20;
const REPEATS = 3;
const TARGET = 1;
const STRETCH = 0.8;
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = join(PACKAGE_ROOT, 'bench', 'torch_train_speed.py');

interface Side {
  batch: number;
  msPerStep: number;
  repeatsMs: number[];
  imagesPerSecond: number;
}

interface OtocSide extends Side {
  backend: string;
  shards: number;
  /** Mean milliseconds of each part of the median repeat's steps. */
  phasesMs: StepPhases;
  /** otoc / PyTorch of each repeat, when PyTorch ran. */
  ratios?: number[];
}

interface TorchSide extends Side {
  torch: string;
  threads: number;
}

/** One (net, batch): every otoc configuration and PyTorch. */
interface Comparison {
  otoc: OtocSide[];
  torch?: TorchSide;
}

export const trainSpeed: Benchmark = {
  name: 'train-speed',
  description: `training steps of the zoo vgg and resnet on ${INPUT.join('x')} inputs, batch 32/64/128: otoc vs PyTorch (${PYTHON}, 2 threads)`,
  async run() {
    const backend = await initBackend();
    const models = envList('OTOC_BENCH_MODELS', MODELS);
    const batches = envList('OTOC_BENCH_BATCHES', BATCHES).map(Number);
    if (process.env.OTOC_BENCH_PROFILE === '1') return profile(backend, models, batches);
    const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch']).status === 0;
    const rows: ReportRow[] = [];
    const results: Record<string, unknown> = { warmup: WARMUP, steps: STEPS, repeats: REPEATS, target: TARGET, stretch: STRETCH, torchAvailable, models: {} };
    for (const name of models) {
      const perBatch: Record<string, unknown>[] = [];
      for (const batch of batches) {
        const c = await compare(name, batch, backend, torchAvailable);
        rows.push(...comparisonRows(name, c));
        const record = { ...c, ...(c.torch && { ratios: c.otoc.map((o) => median(o.ratios!)) }) };
        if (batch === HEADLINE_BATCH) (results.models as Record<string, unknown>)[name] = { ...record, scaling: perBatch };
        else perBatch.push(record);
      }
      if (!batches.includes(HEADLINE_BATCH)) (results.models as Record<string, unknown>)[name] = { scaling: perBatch };
    }
    if (!torchAvailable) {
      rows.push({ metric: 'PyTorch', value: `not measured: ${PYTHON} cannot import torch (apt-get install python3-torch)` });
    }
    return { rows, results };
  },
};

/** Repeats of every otoc configuration, each followed by PyTorch's repeat. */
async function compare(name: ModelName, batch: number, backend: string, torchAvailable: boolean): Promise<Comparison> {
  const otocMs: number[][] = SHARDS.map(() => []);
  const otocPhases: StepPhases[][] = SHARDS.map(() => []);
  const torchMs: number[] = [];
  let torchInfo: { torch: string; threads: number } | undefined;
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, shards] of SHARDS.entries()) {
      const { ms, phases } = await otocRepeat(name, batch, shards);
      otocMs[i].push(ms);
      otocPhases[i].push(phases);
    }
    if (torchAvailable) {
      const t = torchRepeat(name, batch);
      torchMs.push(t.ms);
      torchInfo = t.info;
    }
  }
  const side = (repeatsMs: number[]): Side => {
    const msPerStep = median(repeatsMs);
    return { batch, msPerStep, repeatsMs, imagesPerSecond: (1000 * batch) / msPerStep };
  };
  const otoc = SHARDS.map((shards, i): OtocSide => ({
    ...side(otocMs[i]),
    backend,
    shards,
    phasesMs: otocPhases[i][otocMs[i].indexOf(median(otocMs[i]))],
    ...(torchInfo && { ratios: otocMs[i].map((ms, r) => ms / torchMs[r]) }),
  }));
  return { otoc, ...(torchInfo && { torch: { ...side(torchMs), ...torchInfo } }) };
}

function comparisonRows(name: ModelName, c: Comparison): ReportRow[] {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const rows: ReportRow[] = [];
  for (const o of c.otoc) {
    const p = o.phasesMs;
    const spread = `${ms(Math.min(...o.repeatsMs))}–${ms(Math.max(...o.repeatsMs))}`;
    rows.push({ metric: `${name} batch ${o.batch}: otoc (${o.backend}, ${o.shards} shard${o.shards > 1 ? 's' : ''}) per step`, value: `${ms(o.msPerStep)} (${o.imagesPerSecond.toFixed(0)} img/s; ${spread})` });
    rows.push({ metric: '  of which tfjs / optimizer / upload', value: `${ms(p.gradients)} / ${ms(p.optimizer)} / ${ms(p.upload)}` });
    if (o.ratios) {
      const ratio = median(o.ratios);
      const range = `${Math.min(...o.ratios).toFixed(2)}–${Math.max(...o.ratios).toFixed(2)}`;
      rows.push({ metric: '  time per step, otoc / PyTorch (median, range)', value: `${ratio.toFixed(2)}× (${range})`, target: `≤ ${TARGET}× (stretch ${STRETCH}×)`, met: ratio <= TARGET });
    }
  }
  if (c.torch) {
    const t = c.torch;
    rows.push({ metric: `${name} batch ${t.batch}: PyTorch (${t.threads} threads) per step`, value: `${ms(t.msPerStep)} (${t.imagesPerSecond.toFixed(0)} img/s; ${ms(Math.min(...t.repeatsMs))}–${ms(Math.max(...t.repeatsMs))})` });
  }
  return rows;
}

function buildModel(name: ModelName) {
  return zooEntry(name)!.build({ input: INPUT, classes: CLASSES, seed: 0 });
}

/** A trainer of `name` over (warm-up + timed) batches of random images, with `epochs` epochs. */
function otocTrainer(name: ModelName, batch: number, shards: number, epochs: number): Trainer {
  const rng = new Rng(0);
  const count = (WARMUP + STEPS) * batch;
  const data: Dataset = {
    images: Float32Array.from({ length: count * INPUT.reduce((a, b) => a * b) }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(CLASSES)),
    shape: INPUT as [number, number, number],
    classes: CLASSES,
  };
  const config = { epochs, batchSize: batch, lr: 0.01, schedule: 'constant' as const, seed: 0, evalBatchSize: batch, shards, workers: shards - 1 };
  const model = buildModel(name);
  const settings: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9 };
  const sgd = { plugin: plainTraining as MethodPlugin, settings };
  return new Trainer(analyzeModel(model), { train: modelImageSamples(model, data) }, config, { method: sgd, objectives: [CROSS_ENTROPY] });
}

/** One repeat: a new trainer (and its worker threads), one epoch of warm-up then timed steps. */
async function otocRepeat(name: ModelName, batch: number, shards: number): Promise<{ ms: number; phases: StepPhases }> {
  const trainer = otocTrainer(name, batch, shards, 1);
  const phases: StepPhases[] = [];
  let timedFrom = 0;
  let ms = 0;
  try {
    globalThis.gc?.();
    await trainer.fit({
      onStep: (r) => {
        if (r.stepInEpoch === WARMUP) timedFrom = performance.now();
        if (r.stepInEpoch > WARMUP) phases.push(r.phases);
        if (r.stepInEpoch === WARMUP + STEPS) ms = (performance.now() - timedFrom) / STEPS;
      },
    });
  } finally {
    await trainer.dispose();
  }
  const meanMs = (key: keyof StepPhases) => (1000 * phases.reduce((a, p) => a + p[key], 0)) / phases.length;
  return { ms, phases: { gradients: meanMs('gradients'), optimizer: meanMs('optimizer'), upload: meanMs('upload') } };
}

function torchRepeat(name: ModelName, batch: number): { ms: number; info: { torch: string; threads: number } } {
  const architecture = torchArchitecture(buildModel(name), INPUT, CLASSES);
  const args = [TORCH_SCRIPT, '--batch', String(batch), '--warmup', String(WARMUP), '--steps', String(STEPS), '--repeats', '1'];
  const run = spawnSync(PYTHON, args, { input: JSON.stringify(architecture), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${TORCH_SCRIPT} failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { torch: string; threads: number; msPerStep: number[] };
  return { ms: out.msPerStep[0], info: { torch: out.torch, threads: out.threads } };
}

/** OTOC_BENCH_PROFILE=1: a profile of the steps of each net and batch, the whole batch on this thread. */
async function profile(backend: string, models: ModelName[], batches: number[]) {
  const rows: ReportRow[] = [];
  const profiles: Record<string, unknown> = {};
  for (const name of models) {
    for (const batch of batches) {
      const trainer = otocTrainer(name, batch, 1, 1);
      try {
        globalThis.gc?.();
        const p = await profileSteps(WARMUP, (onStep) => trainer.fit({ onStep: (r) => onStep(r.stepInEpoch, r.phases) }).then(() => undefined));
        profiles[`${name}-${batch}`] = { model: name, batch, backend, ...p };
        rows.push(...profileRows(`${name} batch ${batch} (${backend}, 1 shard)`, p));
      } finally {
        await trainer.dispose();
      }
    }
  }
  return { rows, results: { warmup: WARMUP, steps: STEPS, profiles }, resultsName: 'train-speed-profile' };
}
