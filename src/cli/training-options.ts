/**
 * The options of every command that trains (otoc train, otoc compress, the one-liner with --data),
 * apart from what training loads, so that parsing them loads no tfjs.
 */
import type { Argv } from 'yargs';
import { BACKENDS, type BackendName } from '../tfjs/backend-names.js';
import type { TrainingDefaults } from '../methods/method.js';
import type { BaseKind } from '../train/optimizer.js';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.js';

const OPTIMIZERS: readonly BaseKind[] = ['sgd', 'adam', 'adamw'];
export const DEFAULT_VAL_SPLIT = 0.1;

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

/** The base optimizer's defaults; `otoc compress` takes a method's own (MethodCli.trainingDefaults) where it has them. */
export const TRAINING_DEFAULTS: Required<TrainingDefaults> = { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };

/** `args` with the base optimizer's options it lacks taken from `method`'s defaults, then otoc's. */
export function withTrainingDefaults<T extends TrainingArgs>(args: T, method: TrainingDefaults = {}): T {
  const d = { ...TRAINING_DEFAULTS, ...method };
  return { ...args, optimizer: args.optimizer ?? d.optimizer, lr: args.lr ?? d.lr, momentum: args.momentum ?? d.momentum, weightDecay: args.weightDecay ?? d.weightDecay };
}

const TRAINING_OPTIONS = [
  'data', 'epochs', 'batch-size', 'lr', 'lr-schedule', 'optimizer', 'momentum', 'weight-decay', 'val-split', 'limit', 'seed',
  'backend', 'threads', 'log', 'log-every', 'checkpoint', 'resume',
];

/** The model positional and every training option. */
export function withTrainingOptions<T>(y: Argv<T>, defaults: { epochs: number }): Argv<T & TrainingArgs> {
  // yargs types dashed options by their dashed names only; it sets the camelCase names TrainingArgs reads too.
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX classifier (one image input, one logits output)' })
    .option('data', { type: 'string', default: 'fashion-mnist', describe: 'fashion-mnist, mnist, or a directory of .npy files' })
    .option('epochs', { type: 'number', default: defaults.epochs })
    .option('batch-size', { type: 'number', default: 64 })
    .option('lr', { type: 'number', default: TRAINING_DEFAULTS.lr, describe: 'Learning rate (of the first step, with cosine)' })
    .option('lr-schedule', { choices: LR_SCHEDULES, default: 'cosine' as LrSchedule, describe: 'cosine: decays per step to 0 at the end' })
    .option('optimizer', { choices: OPTIMIZERS, default: TRAINING_DEFAULTS.optimizer })
    .option('momentum', { type: 'number', default: TRAINING_DEFAULTS.momentum, describe: 'SGD momentum' })
    .option('weight-decay', { type: 'number', default: TRAINING_DEFAULTS.weightDecay, describe: 'L2 penalty (sgd, adam) or decoupled decay (adamw)' })
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
    .group(TRAINING_OPTIONS, 'Training options:') as unknown as Argv<T & TrainingArgs>;
}
