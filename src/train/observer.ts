import type { Metrics } from '../methods/method.js';
import type { ShrinkReport } from './shrink.js';

/** After every optimizer step. */
export interface StepReport {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps done in all. */
  step: number;
  /** Steps done in this epoch, and how many it has. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  lr: number;
  /** The objective's mean loss on this batch, and the accuracy where the objective counts correct predictions. */
  loss: number;
  accuracy?: number;
  /** Samples in the batch. */
  images: number;
  /** Wall time of this step, and of its parts. */
  seconds: number;
  phases: StepPhases;
  /** Running mean loss, accuracy and throughput of the epoch so far. */
  epochLoss: number;
  epochAccuracy?: number;
  imagesPerSecond: number;
  extra: Metrics;
}

/** Seconds a step spends in each part. */
export interface StepPhases {
  /** tfjs: forward and backward pass, gradients read back into JS. */
  gradients: number;
  /** The optimizer's update of the master copies, in JS. */
  optimizer: number;
  /** Writing the master copies into the tfjs variables. */
  upload: number;
}

/** After every epoch's validation. */
export interface EpochReport {
  /** 1-based. */
  epoch: number;
  step: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  trainLoss: number;
  /** Where the objective counts correct predictions. */
  trainAccuracy?: number;
  /** Present when there is validation data (the accuracy where the objective counts correct predictions). */
  valLoss?: number;
  valAccuracy?: number;
  /** Training throughput (validation excluded) and training time of the epoch. */
  imagesPerSecond: number;
  seconds: number;
  extra: Metrics;
}

export interface TrainingObserver {
  onStep?(report: StepReport): void;
  onEpoch?(report: EpochReport): void;
  /** When training moves to the network without the settled zero groups (shrink.ts). */
  onShrink?(report: ShrinkReport): void;
}

/** One observer that tells each of `observers` in turn. */
export function observeAll(observers: readonly TrainingObserver[]): TrainingObserver {
  return {
    onStep: (r) => observers.forEach((o) => o.onStep?.(r)),
    onEpoch: (r) => observers.forEach((o) => o.onEpoch?.(r)),
    onShrink: (r) => observers.forEach((o) => o.onShrink?.(r)),
  };
}
