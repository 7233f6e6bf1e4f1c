/**
 * Training speed of the zoo's VGG-like and ResNet-like CNNs on 28×28 inputs: otoc's trainer (SGD,
 * momentum 0.9) against the same network in PyTorch with 2 threads (bench/torch_train_speed.py,
 * run when /usr/bin/python3 can import torch), at batch 32, 64 and 128. Both sides: data in
 * memory as float32, BatchNorm in training mode, 3 warm-up steps then 20 timed. Each repeat runs
 * every otoc configuration and then PyTorch, as it runs by default and with OMP_WAIT_POLICY=PASSIVE
 * (as otoc runs its OpenMP threads), so that all see the same load; a ratio is otoc's time over
 * the faster PyTorch of the same repeat, and the reported time per step is the median of 3
 * repeats. The 1-minute load average after each repeat is kept beside them (the machine is shared).
 *
 * Each net and batch is one file, bench/results/train-speed/<net>-batch<batch>.json, written when
 * it finishes; one that exists is not measured again (delete it to remeasure), so the benchmark
 * resumes. The summary (bench/results/train-speed.json) and the README's table cover every file on
 * disk.
 *
 * OTOC_BENCH_BATCHES (a comma list, e.g. 64) and OTOC_BENCH_MODELS (vgg, resnet) pick a subset.
 * OTOC_BENCH_PROFILE=1 profiles a step instead (bench/train-profile.ts; results in
 * bench/results/train-speed-profile.json).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { zooEntry } from '../models/zoo.js';
import { writeFileAtomically } from '../src/io/atomic.js';
import { modelImageSamples, type Dataset } from '../src/data/index.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { ONEDNN_VARIABLE, describeKernelPath, kernelPath, kernelThreads, type KernelPath } from '../src/tfjs/kernels/native-addon.js';
import { registerWasmKernels } from '../src/tfjs/kernels/register.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import type { StepPhases } from '../src/train/observer.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/random.js';
import { replaceSection } from './doc-section.js';
import { Benchmark, ReportRow, envList, median } from './harness.js';
import { profileRows, profileSteps } from './train-profile.js';
import { torchArchitecture } from './torch-architecture.js';

const MODELS = ['vgg', 'resnet'];
type ModelName = (typeof MODELS)[number];
const BATCHES = ['32', '64', '128'];
/** The batch of the headline figures (`models.<net>.otoc`, `models.<net>.torch`). */
const HEADLINE_BATCH = 64;
/**
 * otoc's configurations, on at most 2 cores as PyTorch: the whole batch in one process on oneDNN's
 * threads (otoc's default), data-parallel over two shards with a kernel thread each (BatchNorm
 * statistics per half batch), the whole batch on one kernel thread, and the fallback kernels
 * (OTOC_ONEDNN=0: onnxruntime's convolutions, one thread per shard) on two shards, the way otoc
 * trained with `--threads 2` before oneDNN. A configuration's cores reach otoc as
 * OMP_NUM_THREADS (native-addon.ts, coreCount).
 */
const OTOC_CONFIGS: { shards: number; cores: number; path: KernelPath['kind'] }[] = [
  { shards: 1, cores: 2, path: 'onednn' },
  { shards: 2, cores: 2, path: 'onednn' },
  { shards: 1, cores: 1, path: 'onednn' },
  { shards: 2, cores: 2, path: 'fallback' },
];
/** PyTorch with 2 threads, as it runs by default and with its OpenMP threads sleeping between kernels as otoc's do. */
const TORCH_CONFIGS = [{ waitPolicy: 'default' }, { waitPolicy: 'PASSIVE' }] as const;
const INPUT = [1, 28, 28];
const CLASSES = 10;
const WARMUP = 3;
const STEPS = 20;
const REPEATS = 3;
const TARGET = 1;
const STRETCH = 0.8;
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = join(PACKAGE_ROOT, 'bench', 'torch_train_speed.py');
/** One file per net and batch, written as it finishes; a comparison whose file exists is not run again. */
const RESULTS = join(PACKAGE_ROOT, 'bench', 'results', 'train-speed');
const README = join(PACKAGE_ROOT, 'README.md');
const PROFILE_RESULTS = 'train-speed-profile';

interface Side {
  batch: number;
  msPerStep: number;
  repeatsMs: number[];
  imagesPerSecond: number;
  /**
   * CPU time per step (all threads of the process) of each repeat: on a machine shared with
   * other work it counts what a step computes rather than how long it waited for a core.
   */
  repeatsCpuMs?: number[];
}

interface OtocSide extends Side {
  backend: string;
  /** Which kernels ran (native-addon.ts, describeKernelPath). */
  kernels: string;
  shards: number;
  kernelThreads: number;
  /** Mean milliseconds of each part of the median repeat's steps. */
  phasesMs: StepPhases;
  /** otoc / PyTorch of each repeat, when PyTorch ran. */
  ratios?: number[];
}

interface TorchSide extends Side {
  torch: string;
  threads: number;
  /** OMP_WAIT_POLICY, or 'default' when unset. */
  waitPolicy: string;
}

/** One (net, batch): every otoc configuration, and PyTorch; ratios are against the faster PyTorch of each repeat. */
interface Comparison {
  model: ModelName;
  batch: number;
  otoc: OtocSide[];
  /** The 1-minute load average at the end of each repeat (this benchmark's own processes included). */
  loads: number[];
  torch?: TorchSide;
  torchPassive?: TorchSide;
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
    mkdirSync(RESULTS, { recursive: true });
    for (const name of models) {
      for (const batch of batches) {
        const path = comparisonPath(name, batch);
        if (existsSync(path)) continue;
        const c = await compare(name, batch, backend, torchAvailable);
        writeFileAtomically(path, `${JSON.stringify({ date: new Date().toISOString(), ...c }, null, 2)}\n`);
      }
    }
    const onDisk = comparisonsOnDisk();
    const rows = onDisk.flatMap(comparisonRows);
    if (!torchAvailable) {
      rows.push({ metric: 'PyTorch', value: `not measured: ${PYTHON} cannot import torch (apt-get install python3-torch)` });
    }
    writeFileAtomically(README, replaceSection(readFileSync(README, 'utf8'), 'train-speed', trainSpeedTable(onDisk)));
    return { rows, results: { warmup: WARMUP, steps: STEPS, repeats: REPEATS, target: TARGET, stretch: STRETCH, models: byModel(onDisk) } };
  },
};

function comparisonPath(name: ModelName, batch: number): string {
  return join(RESULTS, `${name}-batch${batch}.json`);
}

/** Every comparison on disk, by net (vgg, resnet) and batch. */
function comparisonsOnDisk(): Comparison[] {
  return MODELS.flatMap((name) =>
    BATCHES.map((b) => comparisonPath(name, Number(b)))
      .filter((path) => existsSync(path))
      .map((path) => JSON.parse(readFileSync(path, 'utf8')) as Comparison),
  );
}

/** The summary's `models.<net>`: the batch-64 figures where they always were, the other batches under `scaling`. */
function byModel(comparisons: Comparison[]): Record<string, unknown> {
  const models: Record<string, Record<string, unknown>> = {};
  for (const c of comparisons) {
    const record = { ...c, ...(c.torch && { ratios: c.otoc.map((o) => median(o.ratios!)) }) };
    const entry = (models[c.model] ??= { scaling: [] });
    if (c.batch === HEADLINE_BATCH) Object.assign(entry, record);
    else (entry.scaling as unknown[]).push(record);
  }
  return models;
}

/** The README's table: per net and batch, each configuration's time per step and its ratio to PyTorch, and the load. */
function trainSpeedTable(comparisons: Comparison[]): string {
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const ratio = (o: OtocSide) => (o.ratios ? `${median(o.ratios).toFixed(2)}× (${Math.min(...o.ratios).toFixed(2)}–${Math.max(...o.ratios).toFixed(2)})` : '–');
  const header = [
    `| net | batch | ${OTOC_CONFIGS.map((c) => `otoc${c.path === 'fallback' ? ' fallback' : ''} ${c.shards} shard${c.shards > 1 ? 's' : ''}, ${c.cores} core${c.cores > 1 ? 's' : ''}`).join(' | ')} | PyTorch 2 threads (default / passive) | CPU per step, otoc (first column) / PyTorch passive | load (1 min) |`,
    `|---|---|${OTOC_CONFIGS.map(() => '---|').join('')}---|---|---|`,
  ];
  const lines = comparisons.map((c) => {
    const cells = OTOC_CONFIGS.map((_, i) => (c.otoc[i] ? `${ms(c.otoc[i].msPerStep)}, **${ratio(c.otoc[i])}**` : 'not measured'));
    const torch = c.torch && c.torchPassive ? `${ms(c.torch.msPerStep)} / ${ms(c.torchPassive.msPerStep)}` : 'not measured';
    const loads = c.loads ? `${Math.min(...c.loads).toFixed(1)}–${Math.max(...c.loads).toFixed(1)}` : '–';
    const [o] = c.otoc;
    const passiveCpu = c.torchPassive?.repeatsCpuMs;
    const cpu = o.repeatsCpuMs && passiveCpu ? `${ms(median(o.repeatsCpuMs))} / ${ms(median(passiveCpu))}, **${median(o.repeatsCpuMs.map((v, r) => v / passiveCpu[r])).toFixed(2)}×**` : 'not measured';
    return `| ${c.model} | ${c.batch} | ${cells.join(' | ')} | ${torch} | ${cpu} | ${loads} |`;
  });
  return `${[...header, ...lines].join('\n')}\n`;
}

/** Repeats of every otoc configuration, each followed by PyTorch's repeats. */
async function compare(name: ModelName, batch: number, backend: string, torchAvailable: boolean): Promise<Comparison> {
  const otocRuns: OtocRepeat[][] = OTOC_CONFIGS.map(() => []);
  const torchRuns: TorchRepeat[][] = TORCH_CONFIGS.map(() => []);
  const loads: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, config] of OTOC_CONFIGS.entries()) otocRuns[i].push(await otocRepeat(name, batch, config));
    if (torchAvailable) TORCH_CONFIGS.forEach((config, i) => torchRuns[i].push(torchRepeat(name, batch, config.waitPolicy)));
    loads.push(loadavg()[0]);
  }
  const side = (runs: { ms: number; cpuMs: number }[]): Side => {
    const repeatsMs = runs.map((run) => run.ms);
    const msPerStep = median(repeatsMs);
    return { batch, msPerStep, repeatsMs, imagesPerSecond: (1000 * batch) / msPerStep, repeatsCpuMs: runs.map((run) => run.cpuMs) };
  };
  const reference = torchAvailable ? Array.from({ length: REPEATS }, (_, r) => Math.min(...torchRuns.map((runs) => runs[r].ms))) : undefined;
  const otoc = OTOC_CONFIGS.map((config, i): OtocSide => {
    const runs = otocRuns[i];
    const ms = runs.map((run) => run.ms);
    const medianRun = runs[ms.indexOf(median(ms))] ?? runs[0];
    return {
      ...side(runs),
      backend,
      kernels: medianRun.kernels,
      shards: config.shards,
      kernelThreads: medianRun.kernelThreads,
      phasesMs: medianRun.phases,
      ...(reference && { ratios: ms.map((v, r) => v / reference[r]) }),
    };
  });
  const torchSide = (i: number): TorchSide => ({ ...side(torchRuns[i]), ...torchRuns[i][0].info, waitPolicy: TORCH_CONFIGS[i].waitPolicy });
  return { model: name, batch, otoc, loads, ...(torchAvailable && { torch: torchSide(0), torchPassive: torchSide(1) }) };
}

function comparisonRows(c: Comparison): ReportRow[] {
  const name = c.model;
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const rows: ReportRow[] = [];
  const range = (values: number[], f: (v: number) => string) => `${f(Math.min(...values))}–${f(Math.max(...values))}`;
  for (const o of c.otoc) {
    const p = o.phasesMs;
    const config = `${o.kernels.startsWith('fallback') ? 'fallback kernels, ' : ''}${o.shards} shard${o.shards > 1 ? 's' : ''} × ${o.kernelThreads} kernel thread${o.kernelThreads > 1 ? 's' : ''}`;
    rows.push({ metric: `${name} batch ${o.batch}: otoc (${o.backend}, ${config}) per step`, value: `${ms(o.msPerStep)} (${o.imagesPerSecond.toFixed(0)} img/s; ${range(o.repeatsMs, ms)})` });
    rows.push({ metric: '  of which tfjs / optimizer / upload', value: `${ms(p.gradients)} / ${ms(p.optimizer)} / ${ms(p.upload)}` });
    if (o.ratios) {
      const ratio = median(o.ratios);
      rows.push({ metric: '  time per step, otoc / PyTorch (median, range)', value: `${ratio.toFixed(2)}× (${range(o.ratios, (v) => v.toFixed(2))})`, target: `≤ ${TARGET}× (stretch ${STRETCH}×)`, met: ratio <= TARGET });
    }
  }
  for (const t of [c.torch, c.torchPassive]) {
    if (!t) continue;
    rows.push({ metric: `${name} batch ${t.batch}: PyTorch (${t.threads} threads, OMP_WAIT_POLICY ${t.waitPolicy}) per step`, value: `${ms(t.msPerStep)} (${t.imagesPerSecond.toFixed(0)} img/s; ${range(t.repeatsMs, ms)})` });
  }
  const passiveCpu = c.torchPassive?.repeatsCpuMs;
  if (passiveCpu) {
    for (const o of c.otoc.filter((o) => o.repeatsCpuMs)) {
      const ratios = o.repeatsCpuMs!.map((v, r) => v / passiveCpu[r]);
      rows.push({ metric: `${name} batch ${o.batch}: CPU time per step, otoc (${o.kernels.startsWith('fallback') ? 'fallback, ' : ''}${o.shards} × ${o.kernelThreads}) / PyTorch (passive)`, value: `${ms(median(o.repeatsCpuMs!))} / ${ms(median(passiveCpu))}: ${median(ratios).toFixed(2)}× (${range(ratios, (v) => v.toFixed(2))})` });
    }
  }
  if (c.loads) rows.push({ metric: `${name} batch ${c.batch}: load average (1 min) after each repeat`, value: c.loads.map((l) => l.toFixed(2)).join(', ') });
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

interface OtocRepeat {
  ms: number;
  cpuMs: number;
  phases: StepPhases;
  kernels: string;
  kernelThreads: number;
}

/** One repeat: a new trainer (and its worker threads) on `config.cores` cores, one epoch of warm-up then timed steps. */
async function otocRepeat(name: ModelName, batch: number, config: (typeof OTOC_CONFIGS)[number]): Promise<OtocRepeat> {
  const cores = process.env.OMP_NUM_THREADS;
  const onednn = process.env[ONEDNN_VARIABLE];
  process.env.OMP_NUM_THREADS = String(Math.min(config.cores, availableParallelism()));
  // Worker threads copy the environment when they start, and choose their kernels from it.
  if (config.path === 'fallback') process.env[ONEDNN_VARIABLE] = '0';
  registerWasmKernels();
  const trainer = otocTrainer(name, batch, config.shards, 1);
  const phases: StepPhases[] = [];
  let timedFrom = 0;
  let cpuFrom = process.cpuUsage();
  let ms = 0;
  let cpuMs = 0;
  try {
    globalThis.gc?.();
    await trainer.fit({
      onStep: (r) => {
        if (r.stepInEpoch === WARMUP) {
          timedFrom = performance.now();
          cpuFrom = process.cpuUsage();
        }
        if (r.stepInEpoch > WARMUP) phases.push(r.phases);
        if (r.stepInEpoch === WARMUP + STEPS) {
          ms = (performance.now() - timedFrom) / STEPS;
          const cpu = process.cpuUsage(cpuFrom);
          cpuMs = (cpu.user + cpu.system) / 1000 / STEPS;
        }
      },
    });
    const meanMs = (key: keyof StepPhases) => (1000 * phases.reduce((a, p) => a + p[key], 0)) / phases.length;
    return {
      ms,
      cpuMs,
      phases: { gradients: meanMs('gradients'), optimizer: meanMs('optimizer'), upload: meanMs('upload') },
      kernels: describeKernelPath(config.shards),
      kernelThreads: kernelThreads(config.shards),
    };
  } finally {
    await trainer.dispose();
    restoreEnv('OMP_NUM_THREADS', cores);
    restoreEnv(ONEDNN_VARIABLE, onednn);
    registerWasmKernels();
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

interface TorchRepeat {
  ms: number;
  cpuMs: number;
  info: { torch: string; threads: number };
}

/** One repeat of PyTorch with 2 threads, in a new process (OMP_WAIT_POLICY as `waitPolicy`; 'default': unset). */
function torchRepeat(name: ModelName, batch: number, waitPolicy: string): TorchRepeat {
  const architecture = torchArchitecture(buildModel(name), INPUT, CLASSES);
  const args = [TORCH_SCRIPT, '--batch', String(batch), '--warmup', String(WARMUP), '--steps', String(STEPS), '--repeats', '1'];
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  delete env.OMP_NUM_THREADS;
  if (waitPolicy !== 'default') env.OMP_WAIT_POLICY = waitPolicy;
  const run = spawnSync(PYTHON, args, { input: JSON.stringify(architecture), encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`${TORCH_SCRIPT} failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { torch: string; threads: number; msPerStep: number[]; cpuMsPerStep: number[] };
  return { ms: out.msPerStep[0], cpuMs: out.cpuMsPerStep[0], info: { torch: out.torch, threads: out.threads } };
}

/**
 * OTOC_BENCH_PROFILE=1: a profile of the steps of each net and batch, the whole batch on this
 * thread, on the kernel path this process takes (OTOC_ONEDNN=0: the fallback). Profiles already
 * in the results file for other nets, batches or paths stay there.
 */
async function profile(backend: string, models: ModelName[], batches: number[]) {
  const rows: ReportRow[] = [];
  const file = join(PACKAGE_ROOT, 'bench', 'results', `${PROFILE_RESULTS}.json`);
  const profiles = (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { profiles?: Record<string, unknown> }).profiles : undefined) ?? {};
  const path = kernelPath().kind;
  for (const name of models) {
    for (const batch of batches) {
      const trainer = otocTrainer(name, batch, 1, 1);
      try {
        globalThis.gc?.();
        const p = await profileSteps(WARMUP, (onStep) => trainer.fit({ onStep: (r) => onStep(r.stepInEpoch, r.phases) }).then(() => undefined));
        const kernels = describeKernelPath(1);
        profiles[`${name}-${batch}-${path}`] = { model: name, batch, backend, kernels, loadAfter: loadavg()[0], ...p };
        rows.push(...profileRows(`${name} batch ${batch} (${backend}; ${kernels})`, p));
      } finally {
        await trainer.dispose();
      }
    }
  }
  return { rows, results: { warmup: WARMUP, steps: STEPS, profiles }, resultsName: PROFILE_RESULTS };
}
