/**
 * The options of every command that trains (otoc train, otoc compress, the one-liner with --data),
 * apart from what training loads, so that parsing them loads no tfjs.
 */
import type { Argv } from 'yargs';
import { BACKENDS, type BackendName } from '../tfjs/backend-names.js';
import type { TrainingDefaults } from '../methods/method.js';
import { MODE_DEFAULTS } from '../train/mode.js';
import type { BaseKind } from '../train/optimizer.js';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.js';
import { withDistillOptions, type DistillArgs } from './distill-options.js';

const OPTIMIZERS: readonly BaseKind[] = ['sgd', 'adam', 'adamw'];
export const DEFAULT_VAL_SPLIT = 0.1;

export interface TrainingArgs extends DistillArgs {
  model: string;
  output: string;
  data: string;
  epochs: number;
  batchSize: number;
  /** Absent: the mode's default (src/train/mode.ts). */
  lr?: number;
  lrSchedule?: LrSchedule;
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

/**
 * The base optimizer's defaults; `otoc compress` takes a method's own (MethodCli.trainingDefaults)
 * where it has them. The learning rate has none here: the training mode sets it (MODE_DEFAULTS).
 */
export const TRAINING_DEFAULTS: Required<Omit<TrainingDefaults, 'lr'>> = { optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4 };

/** The learning rate's default, as --help says it. */
export const LR_DEFAULT_TEXT = `${MODE_DEFAULTS.scratch.lr}, or ${MODE_DEFAULTS.finetune.lr} with --mode finetune`;

/** `args` with the base optimizer's options it lacks taken from `method`'s defaults, then otoc's (the lr, if still absent, from the mode). */
export function withTrainingDefaults<T extends TrainingArgs>(args: T, method: TrainingDefaults = {}): T {
  const d = { ...TRAINING_DEFAULTS, ...method };
  return { ...args, optimizer: args.optimizer ?? d.optimizer, lr: args.lr ?? method.lr, momentum: args.momentum ?? d.momentum, weightDecay: args.weightDecay ?? d.weightDecay };
}

const TRAINING_OPTIONS = [
  'data', 'epochs', 'batch-size', 'lr', 'lr-schedule', 'optimizer', 'momentum', 'weight-decay', 'val-split', 'limit', 'seed',
  'backend', 'threads', 'log', 'log-every', 'checkpoint', 'resume',
];

/** The model positional and every training option. */
export function withTrainingOptions<T>(y: Argv<T>, defaults: { epochs: number }): Argv<T & TrainingArgs> {
  // yargs types dashed options by their dashed names only; it sets the camelCase names TrainingArgs reads too.
  const training = y
    .positional('model', {
      type: 'string',
      demandOption: true,
      describe: 'ONNX model: a classifier to train on labeled data, or any model whose ops the mirror trains, from sample inputs',
    })
    .option('data', {
      type: 'string',
      default: 'fashion-mnist',
      // Given twice, the last one counts, as for the other single-valued options.
      coerce: (v: string | string[]) => (Array.isArray(v) ? v[v.length - 1] : v),
      describe:
        'fashion-mnist, mnist, random:N (N random samples: smoke tests, no quality claim), or a directory: labeled images ' +
        '(train_images.npy, …), ONNX test data (test_data_set_*/input_<i>.pb), or one .npy per model input (+ inputs.json, labels.npy)',
    })
    .option('epochs', { type: 'number', default: defaults.epochs })
    .option('batch-size', { type: 'number', default: 64 })
    .option('lr', { type: 'number', describe: `Learning rate (of the first step, with cosine). Default: ${LR_DEFAULT_TEXT}` })
    .option('lr-schedule', { choices: LR_SCHEDULES, describe: 'cosine: decays per step to 0 at the end (the default in both modes)' })
    .option('optimizer', { choices: OPTIMIZERS, default: TRAINING_DEFAULTS.optimizer })
    .option('momentum', { type: 'number', default: TRAINING_DEFAULTS.momentum, describe: 'SGD momentum' })
    .option('weight-decay', { type: 'number', default: TRAINING_DEFAULTS.weightDecay, describe: 'L2 penalty (sgd, adam) or decoupled decay (adamw)' })
    .option('val-split', {
      type: 'number',
      default: DEFAULT_VAL_SPLIT,
      describe: 'Validation samples from the end of each class (of all samples when unlabeled): a fraction, or a count per class; 0 for none',
    })
    .option('limit', { type: 'number', describe: 'Train on the first N training images only (quick runs)' })
    .option('seed', { type: 'number', default: 0, describe: 'Seeds the batch order (and Dropout)' })
    .option('backend', { choices: BACKENDS, describe: 'tfjs backend (default: the fastest that starts)' })
    .option('threads', {
      type: 'number',
      default: 1,
      describe:
        'Data-parallel threads: each batch is split in this many shards, BatchNorm statistics per shard; ' +
        "oneDNN's kernels share out the cores between them",
    })
    .option('log', { type: 'string', describe: 'Write metrics as JSON lines (schemas/training-log.schema.json)' })
    .option('log-every', { type: 'number', default: 10, describe: 'A step record in the log per this many steps' })
    .option('checkpoint', { type: 'string', describe: 'Save a checkpoint in this directory after every epoch' })
    .option('resume', {
      type: 'boolean',
      describe: 'Continue from the checkpoint (--checkpoint, or <output>.checkpoint after Ctrl-C) with the same options',
    })
    .group(TRAINING_OPTIONS, 'Training options:');
  return withDistillOptions(training) as unknown as Argv<T & TrainingArgs>;
}
