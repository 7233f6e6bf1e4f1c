/** Learning-rate schedules, evaluated per optimizer step. */
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/**
 * The learning rate of step `step` (0-based) of `totalSteps`. `cosine` decays per step, not per
 * epoch: lr·½(1 + cos(π·step/totalSteps)), which is `lr` at the first step and reaches 0 after
 * the last (PyTorch's CosineAnnealingLR with T_max = totalSteps and eta_min = 0, stepped every batch).
 */
export function learningRate(schedule: LrSchedule, lr: number, step: number, totalSteps: number): number {
  if (schedule === 'constant') return lr;
  return 0.5 * lr * (1 + Math.cos((Math.PI * step) / totalSteps));
}
