/**
 * Training speed of the zoo's VGG-like and ResNet-like CNNs on 28×28 inputs, batch 64: otoc's
 * trainer (SGD, momentum 0.9) against the same network in PyTorch (bench/torch_train_speed.py,
 * run when /usr/bin/python3 can import torch). Both sides: data in memory as float32, BatchNorm
 * in training mode, 3 warm-up steps then 20 timed, time per step = the median of 3 repeats.
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
import type { BackendName } from '../src/tfjs/backend-names.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import type { StepPhases } from '../src/train/observer.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/random.js';
import { Benchmark, ReportRow, median } from './harness.js';
import { torchArchitecture } from './torch-architecture.js';

const MODELS = ['vgg', 'resnet'] as const;
/** otoc on one thread (the whole batch, as PyTorch), and data-parallel on two (BatchNorm statistics per half batch). */
const THREADS = [1, 2];
const INPUT = [1, 28, 28];
const CLASSES = 10;
const BATCH = 64;
const WARMUP = 3;
const STEPS = 20;
const REPEATS = 3;
const TARGET = 3;
const STRETCH = 2;
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = join(PACKAGE_ROOT, 'bench', 'torch_train_speed.py');

interface Side {
  msPerStep: number;
  repeatsMs: number[];
  imagesPerSecond: number;
}

interface OtocSide extends Side {
  backend: BackendName;
  threads: number;
  /** Mean milliseconds of each part of the median repeat's steps. */
  phasesMs: StepPhases;
}

export const trainSpeed: Benchmark = {
  name: 'train-speed',
  description: `training steps of the zoo vgg and resnet on ${INPUT.join('x')} inputs, batch ${BATCH}: otoc vs PyTorch (${PYTHON}, 2 threads)`,
  async run() {
    const backend = await initBackend();
    const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch']).status === 0;
    const rows: ReportRow[] = [];
    const results: Record<string, unknown> = { batch: BATCH, warmup: WARMUP, steps: STEPS, repeats: REPEATS, target: TARGET, stretch: STRETCH, models: {} };
    for (const name of MODELS) {
      const otoc: OtocSide[] = [];
      for (const threads of THREADS) otoc.push(await otocSide(name, backend, threads));
      const torch = torchAvailable ? torchSide(name) : undefined;
      const ratios = torch && otoc.map((o) => o.msPerStep / torch.msPerStep);
      (results.models as Record<string, unknown>)[name] = { otoc, ...(torch && { torch, ratios }) };
      const ms = (v: number) => `${v.toFixed(1)} ms`;
      otoc.forEach((o, i) => {
        const p = o.phasesMs;
        rows.push({ metric: `${name}: otoc (${backend}, ${o.threads} thread${o.threads > 1 ? 's' : ''}) per step`, value: `${ms(o.msPerStep)} (${o.imagesPerSecond.toFixed(0)} img/s)` });
        rows.push({ metric: '  of which tfjs / optimizer / upload', value: `${ms(p.gradients)} / ${ms(p.optimizer)} / ${ms(p.upload)}` });
        if (ratios) rows.push({ metric: '  time per step, otoc / PyTorch', value: `${ratios[i].toFixed(2)}×`, target: `≤ ${TARGET}× (stretch ${STRETCH}×)`, met: ratios[i] <= TARGET });
      });
      if (torch) rows.push({ metric: `${name}: PyTorch (${torch.threads} threads) per step`, value: `${ms(torch.msPerStep)} (${torch.imagesPerSecond.toFixed(0)} img/s)` });
    }
    if (!torchAvailable) {
      rows.push({ metric: 'PyTorch', value: `not measured: ${PYTHON} cannot import torch (apt-get install python3-torch)` });
    }
    results.torchAvailable = torchAvailable;
    return { rows, results };
  },
};

function buildModel(name: (typeof MODELS)[number]) {
  return zooEntry(name)!.build({ input: INPUT, classes: CLASSES, seed: 0 });
}

/** otoc's trainer, one epoch per repeat over (warm-up + timed) batches of random images (the first repeat also starts the workers). */
async function otocSide(name: (typeof MODELS)[number], backend: BackendName, threads: number): Promise<OtocSide> {
  const rng = new Rng(0);
  const count = (WARMUP + STEPS) * BATCH;
  const data: Dataset = {
    images: Float32Array.from({ length: count * INPUT.reduce((a, b) => a * b) }, () => rng.normal()),
    labels: Int32Array.from({ length: count }, () => rng.int(CLASSES)),
    shape: INPUT as [number, number, number],
    classes: CLASSES,
  };
  const config = { epochs: REPEATS, batchSize: BATCH, lr: 0.01, schedule: 'constant' as const, seed: 0, evalBatchSize: BATCH, shards: threads, workers: threads - 1 };
  const model = buildModel(name);
  const settings: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9 };
  const sgd = { plugin: plainTraining as MethodPlugin, settings };
  const trainer = new Trainer(analyzeModel(model), { train: modelImageSamples(model, data) }, config, { method: sgd, objectives: [CROSS_ENTROPY] });
  const repeatsMs: number[] = [];
  const phases: StepPhases[][] = [];
  let timedFrom = 0;
  try {
    globalThis.gc?.();
    await trainer.fit({
      onStep: (r) => {
        if (r.stepInEpoch === WARMUP) {
          timedFrom = performance.now();
          phases.push([]);
        }
        if (r.stepInEpoch > WARMUP) phases.at(-1)!.push(r.phases);
        if (r.stepInEpoch === WARMUP + STEPS) repeatsMs.push((performance.now() - timedFrom) / STEPS);
      },
    });
  } finally {
    await trainer.dispose();
  }
  const msPerStep = median(repeatsMs);
  const medianRepeat = phases[repeatsMs.indexOf(msPerStep)] ?? phases.flat();
  const meanMs = (key: keyof StepPhases) => (1000 * medianRepeat.reduce((a, p) => a + p[key], 0)) / medianRepeat.length;
  return {
    backend,
    threads,
    msPerStep,
    repeatsMs,
    imagesPerSecond: (1000 * BATCH) / msPerStep,
    phasesMs: { gradients: meanMs('gradients'), optimizer: meanMs('optimizer'), upload: meanMs('upload') },
  };
}

function torchSide(name: (typeof MODELS)[number]): Side & { torch: string; threads: number } {
  const architecture = torchArchitecture(buildModel(name), INPUT, CLASSES);
  const args = [TORCH_SCRIPT, '--batch', String(BATCH), '--warmup', String(WARMUP), '--steps', String(STEPS), '--repeats', String(REPEATS)];
  const run = spawnSync(PYTHON, args, { input: JSON.stringify(architecture), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${TORCH_SCRIPT} failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { torch: string; threads: number; msPerStep: number[] };
  const msPerStep = median(out.msPerStep);
  return { torch: out.torch, threads: out.threads, msPerStep, repeatsMs: out.msPerStep, imagesPerSecond: (1000 * BATCH) / msPerStep };
}
