/**
 * What every command that trains shares (otoc train, otoc compress): the training options, the
 * run settings a checkpoint must match, progress, the JSONL log, checkpoints, --resume and Ctrl-C.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { loadDataset, type DataSplits } from '../data/index.js';
import { OtocError, attributedTo } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { BACKENDS, initBackend, type BackendName } from '../tfjs/backend.js';
import { CHECKPOINT_FILE, readCheckpoint, writeCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import type { TrainingPlugins } from '../train/extensions.js';
import { BASE_DEFAULTS, type BaseKind, type BaseOptions } from '../train/optimizer.js';
import { observeAll, type EpochReport, type TrainingObserver } from '../train/reports.js';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.js';
import type { ShrinkReport } from '../train/shrink.js';
import { EVAL_BATCH_SIZE, Trainer, checkTrainConfig, type TrainConfig } from '../train/trainer.js';
import { loadModel } from './load-model.js';
import { ProgressDisplay, duration, percent } from './progress.js';
import { TrainingLog } from './training-log.js';

const OPTIMIZERS: readonly BaseKind[] = ['sgd', 'adam', 'adamw'];
export const DEFAULT_VAL_SPLIT = 0.1;
/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT = 130;

export interface TrainingArgs {
  model: string;
  output: string;
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  lrSchedule: LrSchedule;
  optimizer: BaseKind;
  momentum: number;
  weightDecay: number;
  valSplit: number;
  limit?: number;
  seed: number;
  backend?: BackendName;
  threads: number;
  log?: string;
  logEvery: number;
  checkpoint?: string;
  resume?: boolean;
  json?: boolean;
}

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
}

/** The model positional and every training option. */
export function withTrainingOptions<T>(y: Argv<T>, defaults: { epochs: number }): Argv<T & TrainingArgs> {
  // yargs types dashed options by their dashed names only; it sets the camelCase names TrainingArgs reads too.
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX classifier (one image input, one logits output)' })
    .option('data', { type: 'string', default: 'fashion-mnist', describe: 'fashion-mnist, mnist, or a directory of .npy files' })
    .option('epochs', { type: 'number', default: defaults.epochs })
    .option('batch-size', { type: 'number', default: 64 })
    .option('lr', { type: 'number', default: 0.1, describe: 'Learning rate (of the first step, with cosine)' })
    .option('lr-schedule', { choices: LR_SCHEDULES, default: 'cosine' as LrSchedule, describe: 'cosine: decays per step to 0 at the end' })
    .option('optimizer', { choices: OPTIMIZERS, default: 'sgd' as BaseKind })
    .option('momentum', { type: 'number', default: 0.9, describe: 'SGD momentum' })
    .option('weight-decay', { type: 'number', default: 5e-4, describe: 'L2 penalty (sgd, adam) or decoupled decay (adamw)' })
    .option('val-split', {
      type: 'number',
      default: DEFAULT_VAL_SPLIT,
      describe: 'Validation images from the end of each class: a fraction, or a count per class; 0 for none',
    })
    .option('limit', { type: 'number', describe: 'Train on the first N training images only (quick runs)' })
    .option('seed', { type: 'number', default: 0, describe: 'Seeds the batch order (and Dropout)' })
    .option('backend', { choices: BACKENDS, describe: 'tfjs backend (default: the fastest that starts)' })
    .option('threads', {
      type: 'number',
      default: 1,
      describe: 'Data-parallel threads: each batch is split in this many shards, BatchNorm statistics per shard',
    })
    .option('log', { type: 'string', describe: 'Write metrics as JSON lines (schemas/training-log.schema.json)' })
    .option('log-every', { type: 'number', default: 10, describe: 'A step record in the log per this many steps' })
    .option('checkpoint', { type: 'string', describe: 'Save a checkpoint in this directory after every epoch' })
    .option('resume', {
      type: 'boolean',
      describe: 'Continue from the checkpoint (--checkpoint, or <output>.checkpoint after Ctrl-C) with the same options',
    }) as unknown as Argv<T & TrainingArgs>;
}

export function runSettings(args: TrainingArgs, method: unknown): RunSettings {
  for (const [flag, value] of [['--momentum', args.momentum], ['--weight-decay', args.weightDecay]] as const) {
    if (!(value >= 0 && Number.isFinite(value))) throw new OtocError(`${flag} must be a non-negative number, got ${value}`);
  }
  if (!(Number.isInteger(args.threads) && args.threads >= 1)) throw new OtocError(`--threads must be a positive integer, got ${args.threads}`);
  const config: TrainConfig = {
    epochs: args.epochs,
    batchSize: args.batchSize,
    lr: args.lr,
    schedule: args.lrSchedule,
    seed: args.seed,
    evalBatchSize: EVAL_BATCH_SIZE,
    shards: args.threads,
    workers: args.threads - 1,
  };
  checkTrainConfig(config);
  return {
    modelSha256: sha256(args.model),
    data: args.data,
    valSplit: args.valSplit,
    limit: args.limit ?? null,
    config,
    optimizer: { ...BASE_DEFAULTS, kind: args.optimizer, momentum: args.momentum, weightDecay: args.weightDecay },
    method,
  };
}

export interface TrainingRun {
  trainer: Trainer;
  model: Model;
  data: DataSplits;
  backend: BackendName;
  /** False when Ctrl-C stopped the run; a checkpoint is then in `checkpointDir`. */
  finished: boolean;
  checkpointDir: string;
}

/**
 * Load the model and data, train with `plugins` (resuming when asked), and return the trainer,
 * which the caller disposes. An interrupted run has saved its checkpoint and set the exit code.
 */
export async function runTraining(args: TrainingArgs, settings: RunSettings, plugins: TrainingPlugins): Promise<TrainingRun> {
  const backend = await initBackend(args.backend);
  const checkpointDir = args.checkpoint ?? `${args.output}.checkpoint`;
  const resumed = args.resume ? readCheckpoint<RunSettings>(checkpointDir) : undefined;
  if (resumed) checkSameRun(resumed.meta, settings, checkpointDir);
  const model = loadModel(args.model);
  const data = await loadDataset(args.data, { valSplit: args.valSplit, limit: args.limit });
  // The options are checked (runSettings): what the trainer refuses now is the model, for this data.
  const trainer = attributedTo(args.model, () => new Trainer(model, data, settings.config, plugins));
  try {
    return await train({ trainer, model, data, backend, finished: false, checkpointDir }, args, settings, resumed);
  } catch (e) {
    await trainer.dispose();
    throw e;
  }
}

async function train(run: TrainingRun, args: TrainingArgs, settings: RunSettings, resumed: Checkpoint<RunSettings> | undefined): Promise<TrainingRun> {
  const { trainer, checkpointDir, backend } = run;
  if (resumed) attributedTo(join(checkpointDir, CHECKPOINT_FILE), () => trainer.restore(resumed.trainer));
  const save = () => writeCheckpoint(checkpointDir, { meta: settings, trainer: trainer.state() } satisfies Checkpoint<RunSettings>);
  const progress = new ProgressDisplay(process.stderr, args.epochs);
  const observers: TrainingObserver[] = [progress];
  if (args.log) {
    const start = { resumed: resumed !== undefined, step: resumed?.trainer.position.step ?? 0 };
    observers.push(new TrainingLog(args.log, args.logEvery, { ...start, settings: { model: args.model, backend, ...settings } }));
  }
  if (!args.json) {
    const print = (line: string) => {
      progress.clear();
      console.log(line);
    };
    observers.push({ onEpoch: (r) => print(formatEpoch(r, args.epochs)), onShrink: (r) => print(formatShrink(r)) });
  }
  if (args.checkpoint) observers.push({ onEpoch: save });
  run.finished = await untilInterrupted((signal) => trainer.fit(observeAll(observers), signal), () => {
    progress.clear();
    process.stderr.write('otoc: interrupted: saving a checkpoint after this step (Ctrl-C again to quit without it)\n');
  });
  if (!run.finished) {
    save();
    process.exitCode = INTERRUPTED_EXIT;
    if (!args.json) console.log(`stopped; to continue from the checkpoint in ${checkpointDir}, run the same command with --resume`);
  }
  return run;
}

/** Refuses to resume a checkpoint of a different run: the result would not be the uninterrupted run's. */
function checkSameRun(saved: RunSettings, now: RunSettings, dir: string): void {
  const flat = (s: RunSettings) => ({ ...s, ...s.config, ...s.optimizer, config: undefined, optimizer: undefined });
  const [a, b] = [flat(saved), flat(now)];
  const differing = Object.keys(b).filter((key) => JSON.stringify(a[key as keyof typeof a]) !== JSON.stringify(b[key as keyof typeof b]));
  if (differing.length === 0) return;
  const what = differing.map((key) =>
    key === 'modelSha256' ? 'the model file' : `${key} (${JSON.stringify(a[key as keyof typeof a])} there, ${JSON.stringify(b[key as keyof typeof b])} now)`,
  );
  throw new OtocError(`the checkpoint is of a different run: ${what.join(', ')} differ; resume with the same model and options`, dir);
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
  const val = r.valAccuracy === undefined ? '' : `  val loss ${r.valLoss!.toFixed(4)} acc ${percent(r.valAccuracy)}`;
  const extra = Object.entries(r.extra).map(([k, v]) => `  ${k} ${Number.isInteger(v) ? v : v.toPrecision(3)}`).join('');
  return (
    `epoch ${r.epoch}/${epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${percent(r.trainAccuracy)}${val}  ` +
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

function sha256(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(e)})`, path);
  }
}
