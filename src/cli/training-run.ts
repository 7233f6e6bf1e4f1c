/**
 * What every command that trains shares (otoc train, otoc compress): the run settings a checkpoint
 * must match, progress, the JSONL log, checkpoints, --resume and Ctrl-C. The options are in
 * training-options.ts.
 */
import { loadSamples, type SampleSplits } from '../data/index.js';
import { OtocError, attributedTo } from '../errors.js';
import type { Model } from '../ir/graph.js';
import type { ShapeOverrides } from '../ir/input-shapes.js';
import { fileSha256 } from '../io/digest.js';
import { inlineExternalData } from '../onnx/write.js';
import type { MethodUse } from '../methods/method.js';
import { CROSS_ENTROPY } from '../objectives/cross-entropy.js';
import type { PipelineInput, RunControl } from '../pipeline/plan.js';
import type { Json } from '../plugins.js';
import type { BackendName } from '../tfjs/backend-names.js';
import { initBackend } from '../tfjs/backend.js';
import { describeKernelPath } from '../tfjs/kernels/native-addon.js';
import { readCheckpoint } from '../train/checkpoint.js';
import { BASE_DEFAULTS, type BaseOptions } from '../train/optimizer.js';
import { observeAll, type EpochReport, type TrainingObserver } from '../train/observer.js';
import type { ShrinkReport } from '../train/shrink.js';
import { EVAL_BATCH_SIZE, checkTrainConfig, type TrainConfig } from '../train/trainer.js';
import { MODE_DEFAULTS, type TrainingMode } from '../train/mode.js';
import type { DistillChoice } from './distill-run.js';
import { loadDenseModel } from './load-model.js';
import { shapeOverrides } from './shape-option.js';
import { duration, percent } from '../util/format.js';
import { ProgressDisplay } from './progress.js';
import type { TrainingArgs } from './training-options.js';
import { TrainingLog } from './training-log.js';

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

/** Everything that decides a run's result: a resumed run must have the same. */
export interface RunSettings {
  modelSha256: string;
  data: string;
  valSplit: number;
  limit: number | null;
  config: TrainConfig;
  optimizer: BaseOptions;
  /** The training method's own settings (e.g. DHSPG's), compared as JSON on resume. */
  method: unknown;
  mode: TrainingMode;
  /** The teacher and the objective's settings of a distilled run. */
  distillation: { teacherSha256: string; temperature: number; weight: number; mseOutputs: string | null } | null;
}

/** The base optimizer the options ask for; an OtocError names a bad one. */
export function baseOptimizer(args: TrainingArgs): BaseOptions {
  for (const [flag, value] of [['--momentum', args.momentum], ['--weight-decay', args.weightDecay]] as const) {
    if (!(value >= 0 && Number.isFinite(value))) throw new OtocError(`${flag} must be a non-negative number, got ${value}`);
  }
  return { ...BASE_DEFAULTS, kind: args.optimizer, momentum: args.momentum, weightDecay: args.weightDecay };
}

/** The settings of a run whose data `choice` was made for. */
export function runSettings(args: TrainingArgs, method: unknown, choice: DistillChoice): RunSettings {
  const optimizer = baseOptimizer(args);
  if (!(Number.isInteger(args.threads) && args.threads >= 1)) throw new OtocError(`--threads must be a positive integer, got ${args.threads}`);
  const defaults = MODE_DEFAULTS[choice.mode];
  const config: TrainConfig = {
    epochs: args.epochs,
    batchSize: args.batchSize,
    lr: args.lr ?? defaults.lr,
    schedule: args.lrSchedule ?? defaults.schedule,
    seed: args.seed,
    evalBatchSize: EVAL_BATCH_SIZE,
    shards: args.threads,
    workers: args.threads - 1,
  };
  checkTrainConfig(config);
  const t = choice.teacher;
  return {
    modelSha256: fileSha256(args.model),
    data: args.data,
    valSplit: args.valSplit,
    limit: args.limit ?? null,
    config,
    optimizer,
    method,
    mode: choice.mode,
    distillation: t ? { teacherSha256: t.sha256, temperature: args.temperature, weight: args.distillWeight, mseOutputs: args.mseOutputs ?? null } : null,
  };
}

/** What a command's pipeline starts from: the backend started, the model loaded, the data as the model's samples. */
export interface PreparedRun {
  backend: BackendName;
  model: Model;
  /** --shape, checked against the model. */
  shapes: ShapeOverrides;
  samples: SampleSplits;
}

/**
 * Starts the backend and loads the model (its external data moved into it: training holds the
 * model in memory) and the data, as the model's input samples; `shapeSpecs` (--shape) are checked
 * against the model before the data is read, and size the symbolic dims of random:N. Errors in
 * fitting images to the model name the model.
 */
export async function prepareRun(args: TrainingArgs, shapeSpecs?: readonly string[]): Promise<PreparedRun> {
  const backend = await initBackend(args.backend);
  const model = loadDenseModel(args.model, 'training');
  attributedTo(args.model, () => inlineExternalData(model));
  const shapes = shapeOverrides(model, shapeSpecs);
  try {
    const samples = await loadSamples(args.data, model, { valSplit: args.valSplit, limit: args.limit, shapes });
    return { backend, model, shapes, samples };
  } catch (e) {
    throw e instanceof OtocError ? e.inFile(args.model) : e;
  }
}

/** The pipeline input every training command shares; `method` and the evaluation are the command's. */
export function pipelineInput(args: TrainingArgs, settings: RunSettings, run: PreparedRun, method: MethodUse): PipelineInput {
  return {
    modelFile: args.model,
    model: run.model,
    data: { train: run.samples.train, val: run.samples.val },
    config: settings.config,
    base: settings.optimizer,
    method,
    objectives: [CROSS_ENTROPY],
    backend: run.backend,
    mode: settings.mode,
  };
}

/**
 * Runs a command's pipeline with progress, the JSONL log, checkpoints (every epoch with
 * --checkpoint; always on Ctrl-C, in <output>.checkpoint by default) and --resume. Returns
 * undefined when Ctrl-C stopped it; the checkpoint is then saved and the exit code set.
 */
export async function runPipeline<T>(
  args: TrainingArgs,
  settings: RunSettings,
  backend: BackendName,
  work: (control: RunControl) => Promise<T | undefined>,
): Promise<T | undefined> {
  const dir = checkpointDir(args);
  const progress = new ProgressDisplay(process.stderr, args.epochs);
  const observers: TrainingObserver[] = [progress];
  if (args.log) {
    const step = args.resume ? resumedStep(dir) : 0;
    observers.push(new TrainingLog(args.log, args.logEvery, { resumed: Boolean(args.resume), step, settings: { model: args.model, backend, ...settings } }));
  }
  const print = (line: string) => {
    progress.clear();
    console.log(line);
  };
  if (!args.json) {
    if (backend === 'wasm') console.log(`kernels: ${describeKernelPath(settings.config.shards ?? 1)}`);
    observers.push({ onEpoch: (r) => print(formatEpoch(r, args.epochs)), onShrink: (r) => print(formatShrink(r)) });
  }
  const control = (signal: AbortSignal): RunControl => ({
    signal,
    observer: { training: observeAll(observers), ...(!args.json && { onMessage: print }) },
    checkpoint: { dir, everyEpoch: Boolean(args.checkpoint), meta: settings as unknown as Json, resume: Boolean(args.resume) },
  });
  const result = await untilInterrupted((signal) => work(control(signal)), () => {
    progress.clear();
    process.stderr.write('otoc: interrupted: saving a checkpoint after this step (Ctrl-C again to quit without it)\n');
  });
  if (result === undefined) {
    process.exitCode = INTERRUPTED_EXIT;
    if (!args.json) console.log(`stopped; to continue from the checkpoint in ${dir}, run the same command with --resume`);
  }
  return result;
}

/** Where checkpoints go: --checkpoint, or beside the output. */
export function checkpointDir(args: TrainingArgs): string {
  return args.checkpoint ?? `${args.output}.checkpoint`;
}

/** The optimizer step a resumed run starts from (0 when its checkpoint was taken outside training). */
function resumedStep(dir: string): number {
  return readCheckpoint(dir).trainer?.position.step ?? 0;
}

/**
 * Runs `work` with a signal that the first Ctrl-C aborts (after calling `onInterrupt`); a second
 * Ctrl-C exits at once. Every file otoc writes is written atomically, so that leaves none half-written.
 */
async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>, onInterrupt: () => void): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT);
    controller.abort();
    onInterrupt();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function formatEpoch(r: EpochReport, epochs: number): string {
  const acc = (a: number | undefined) => (a === undefined ? '' : ` acc ${percent(a)}`);
  const val = r.valLoss === undefined ? '' : `  val loss ${r.valLoss.toFixed(4)}${acc(r.valAccuracy)}`;
  const extra = Object.entries(r.extra).map(([k, v]) => `  ${k} ${Number.isInteger(v) ? v : v.toPrecision(3)}`).join('');
  return (
    `epoch ${r.epoch}/${epochs}  train loss ${r.trainLoss.toFixed(4)}${acc(r.trainAccuracy)}${val}  ` +
    `${r.imagesPerSecond.toFixed(0)} img/s  ${duration(r.seconds)}${extra}`
  );
}

function formatShrink(r: ShrinkReport): string {
  const int = (n: number) => n.toLocaleString('en-US');
  return (
    `step ${int(r.step)}: the zero groups are settled; training goes on without them ` +
    `(${r.removedGroups} groups removed, ${int(r.smallParameters)} of ${int(r.fullParameters)} parameters)`
  );
}
