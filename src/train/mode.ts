/**
 * How a run treats the model's weights: `finetune` takes them as a trained model to keep close
 * to (a small learning rate, pruning from the start), `scratch` as an initialization (today's
 * defaults for an untrained net). The weights are the model's in both: the mode sets defaults.
 */
import type { LrSchedule } from './schedule.js';

export const TRAINING_MODES = ['finetune', 'scratch'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];

export interface ModeDefaults {
  lr: number;
  schedule: LrSchedule;
  /** Epochs before a pruning method chooses its groups and starts projecting them. */
  startPruningEpochs: number;
}

/** Fine-tuning defaults chosen on the validation split of the quick protocol (bench/distill-fmnist.ts, README): lr 0.03 is the smallest within one standard error of the best (0.1). */
export const MODE_DEFAULTS: Record<TrainingMode, ModeDefaults> = {
  scratch: { lr: 0.1, schedule: 'cosine', startPruningEpochs: 1 },
  finetune: { lr: 0.03, schedule: 'cosine', startPruningEpochs: 0 },
};

/** The mode a run takes, and why (the command says it): --mode, else finetune when distilling, scratch otherwise. */
export function resolveMode(given: TrainingMode | undefined, distilling: boolean): { mode: TrainingMode; reason: string } {
  if (given) return { mode: given, reason: '--mode' };
  return distilling
    ? { mode: 'finetune', reason: 'distillation is on, so the model is taken as trained; --mode scratch treats its weights as an initialization' }
    : { mode: 'scratch', reason: 'no distillation, so the weights are taken as an initialization; --mode finetune if the model is trained' };
}
