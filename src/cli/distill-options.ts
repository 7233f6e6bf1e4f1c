/**
 * The distillation and mode options every training command shares (otoc train, otoc compress, the
 * one-liner), apart from what distilling loads (tfjs among it): distill-run.ts acts on them.
 */
import type { Argv } from 'yargs';
import { DEFAULT_DISTILL_WEIGHT, DEFAULT_TEMPERATURE } from '../pipeline/distill-defaults.js';
import { MODE_DEFAULTS, TRAINING_MODES, type TrainingMode } from '../train/mode.js';

export interface DistillArgs {
  model: string;
  distill?: boolean;
  teacher?: string;
  temperature: number;
  distillWeight: number;
  mseOutputs?: string;
  mode?: TrainingMode;
  json?: boolean;
}

const DISTILL_OPTIONS = ['distill', 'teacher', 'temperature', 'distill-weight', 'mse-outputs', 'mode'];

export function withDistillOptions<T>(y: Argv<T>): Argv<T & DistillArgs> {
  const f = MODE_DEFAULTS.finetune;
  const s = MODE_DEFAULTS.scratch;
  return y
    .option('distill', {
      type: 'boolean',
      describe: "Train toward the teacher's outputs (knowledge distillation). Default: on when the data has no labels; --no-distill turns it off",
    })
    .option('teacher', { type: 'string', describe: 'The teacher model (default: the input model as given)' })
    .option('temperature', { type: 'number', default: DEFAULT_TEMPERATURE, describe: 'T of the KL divergence on logits outputs, times T²' })
    .option('distill-weight', {
      type: 'number',
      default: DEFAULT_DISTILL_WEIGHT,
      describe: 'α: with labels the loss is (1 − α)·cross-entropy + α·distillation',
    })
    .option('mse-outputs', { type: 'string', describe: 'Outputs (NAME,…) distilled by MSE / teacher variance, not as logits; by default an output [N, C], C ≥ 2, is logits' })
    .option('mode', {
      choices: TRAINING_MODES,
      describe:
        `finetune: the model is trained (lr ${f.lr}, pruning from epoch ${f.startPruningEpochs}); scratch: its weights are an initialization ` +
        `(lr ${s.lr}, pruning from epoch ${s.startPruningEpochs}). Default: finetune when distilling, else scratch`,
    })
    .group(DISTILL_OPTIONS, 'Distillation options:') as unknown as Argv<T & DistillArgs>;
}
