import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { loadDataset } from '../data/index.js';
import { OtocError } from '../errors.js';
import { validateJson } from '../io/json-schema.js';
import { writeModel } from '../onnx/write.js';
import { BACKENDS, initBackend, type BackendName } from '../tfjs/backend.js';
import { BaseOptimizer } from '../train/base-optimizers.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../train/checkpoint.js';
import { BASE_DEFAULTS, type BaseKind, type BaseOptions } from '../train/optimizer.js';
import { observeAll, type EpochReport, type TrainingObserver } from '../train/reports.js';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.js';
import { EVAL_BATCH_SIZE, Trainer, type TrainConfig } from '../train/trainer.js';
import { loadModel } from './load-model.js';
import { ProgressDisplay, duration, percent } from './progress.js';
import { TrainingLog } from './training-log.js';

const OPTIMIZERS: readonly BaseKind[] = ['sgd', 'adam', 'adamw'];
const DEFAULT_VAL_SPLIT = 0.1;
/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED_EXIT = 130;

interface TrainArgs {
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
interface RunSettings {
  modelSha256: string;
  data: string;
  valSplit: number;
  limit: number | null;
  config: TrainConfig;
  optimizer: BaseOptions;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train <model>',
  describe: 'Train a classifier on an image data set (same graph, trained weights and BatchNorm statistics)',
  // yargs types dashed options by their dashed names only; it sets the camelCase names TrainArgs reads too.
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX classifier (one image input, one logits output)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the trained model' })
      .option('data', { type: 'string', default: 'fashion-mnist', describe: 'fashion-mnist, mnist, or a directory of .npy files' })
      .option('epochs', { type: 'number', default: 10 })
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
      })
      .option('json', { type: 'boolean', describe: 'Print the summary as JSON (schemas/train.schema.json)' })
      .example('$0 zoo small-cnn -o cnn.onnx && $0 train cnn.onnx --epochs 3 -o trained.onnx', 'Train a zoo net on Fashion-MNIST')
      .example('$0 train cnn.onnx --limit 2000 --epochs 1 --batch-size 16 -o quick.onnx', 'A quick run on 2,000 images')
      .example('$0 train cnn.onnx --checkpoint ckpt -o trained.onnx --resume', 'Continue an interrupted run') as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    const backend = await initBackend(args.backend);
    const settings = runSettings(args);
    const checkpointDir = args.checkpoint ?? `${args.output}.checkpoint`;
    const resumed = args.resume ? readCheckpoint<RunSettings>(checkpointDir) : undefined;
    if (resumed) checkSameRun(resumed.meta, settings, checkpointDir);
    const model = loadModel(args.model);
    const data = await loadDataset(args.data, { valSplit: args.valSplit, limit: args.limit });
    const trainer = new Trainer(model, data, settings.config, {
      optimizer: (setup) => new BaseOptimizer(setup.params, settings.optimizer),
    });
    try {
      if (resumed) trainer.restore(resumed.trainer);
      const save = () => writeCheckpoint(checkpointDir, { meta: settings, trainer: trainer.state() } satisfies Checkpoint<RunSettings>);
      const progress = new ProgressDisplay(process.stderr, args.epochs);
      const observers: TrainingObserver[] = [progress];
      if (args.log) {
        const start = { resumed: resumed !== undefined, step: resumed?.trainer.position.step ?? 0 };
        observers.push(new TrainingLog(args.log, args.logEvery, { ...start, settings: { model: args.model, backend, ...settings } }));
      }
      if (!args.json) observers.push({ onEpoch: (r) => console.log(formatEpoch(r, args.epochs)) });
      if (args.checkpoint) observers.push({ onEpoch: save });

      const finished = await untilInterrupted(
        (signal) => trainer.fit(observeAll(observers), signal),
        () => {
          progress.clear();
          process.stderr.write('otoc: interrupted: saving a checkpoint after this step (Ctrl-C again to quit without it)\n');
        },
      );
      if (finished) {
        trainer.exportTo(model);
        writeModel(model, args.output);
      } else {
        save();
        process.exitCode = INTERRUPTED_EXIT;
      }
      const summary: TrainSummary = {
        model: args.model,
        output: args.output,
        data: args.data,
        backend,
        trainImages: data.train.labels.length,
        valImages: data.val?.labels.length ?? 0,
        epochs: [...trainer.epochs],
        finished,
        ...(!finished && { checkpoint: checkpointDir }),
      };
      if (args.json) {
        validateJson('train.schema.json', summary);
        console.log(JSON.stringify(summary, null, 2));
      } else {
        console.log(
          finished
            ? `wrote ${args.output}`
            : `stopped; to continue from the checkpoint in ${checkpointDir}, run the same command with --resume`,
        );
      }
    } finally {
      await trainer.dispose();
    }
  },
};

/** What `--json` prints (schemas/train.schema.json). */
interface TrainSummary {
  model: string;
  output: string;
  data: string;
  backend: BackendName;
  trainImages: number;
  valImages: number;
  epochs: EpochReport[];
  finished: boolean;
  checkpoint?: string;
}

function runSettings(args: TrainArgs): RunSettings {
  for (const [flag, value] of [['--momentum', args.momentum], ['--weight-decay', args.weightDecay]] as const) {
    if (!(value >= 0 && Number.isFinite(value))) throw new OtocError(`${flag} must be a non-negative number, got ${value}`);
  }
  if (!(Number.isInteger(args.threads) && args.threads > 0)) throw new OtocError(`--threads must be a positive integer, got ${args.threads}`);
  return {
    modelSha256: sha256(args.model),
    data: args.data,
    valSplit: args.valSplit,
    limit: args.limit ?? null,
    config: {
      epochs: args.epochs,
      batchSize: args.batchSize,
      lr: args.lr,
      schedule: args.lrSchedule,
      seed: args.seed,
      evalBatchSize: EVAL_BATCH_SIZE,
      shards: args.threads,
      workers: args.threads - 1,
    },
    optimizer: { ...BASE_DEFAULTS, kind: args.optimizer, momentum: args.momentum, weightDecay: args.weightDecay },
  };
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
  return (
    `epoch ${r.epoch}/${epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${percent(r.trainAccuracy)}${val}  ` +
    `${r.imagesPerSecond.toFixed(0)} img/s  ${duration(r.seconds)}`
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
