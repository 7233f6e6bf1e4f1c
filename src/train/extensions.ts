/**
 * How training methods plug into the trainer without the trainer knowing them: DHSPG is an
 * optimizer over ZIG group vectors, ADMM adds a proximal loss term and updates its auxiliary
 * variables between epochs, PEMN trains mask scores that transform frozen weights.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import type { Model, Value } from '../ir/graph.js';
import type { Mirror } from '../mirror/mirror.js';
import type { Optimizer, OptimizerState, Parameter } from './optimizer.js';
import type { TrainConfig } from './trainer.js';

/** What the trainer has built when it creates the optimizer and the extensions. */
export interface TrainingSetup {
  readonly model: Model;
  readonly mirror: Mirror;
  /** The model's ZIGs; `groupVectors(groups, params)` gives them as offsets into `params`. */
  readonly groups: GroupAnalysis;
  /** The variables the optimizer trains, keyed by the initializer each one drives (TrainingPlugins.trainedVariables). */
  readonly variables: ReadonlyMap<Value, tf.Variable>;
  /** Master copies of `variables`, in their order: what the optimizer updates. */
  readonly params: readonly Parameter[];
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly config: Readonly<TrainConfig>;
}

export type OptimizerFactory = (setup: TrainingSetup) => Optimizer;
export type ExtensionFactory = (setup: TrainingSetup) => TrainingExtension;

/** Named numbers an extension reports; they appear under `extra` in step and epoch reports and the log. */
export type Metrics = Record<string, number>;

export interface StepInfo {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps done so far, this one included. */
  step: number;
  lr: number;
  /** Cross-entropy of this batch (extension loss terms not included). */
  loss: number;
}

export interface EpochInfo {
  /** 1-based; the epoch just finished. */
  epoch: number;
  step: number;
}

export interface TrainingExtension {
  /** Added to the loss inside the gradient tape (e.g. ADMM's ρ/2‖W − Z + U‖²); given the mirror's parameters. */
  lossTerm?(params: ReadonlyMap<Value, tf.Variable>): tf.Scalar;
  /** Applied to each parameter in every forward pass, training and evaluation (e.g. PEMN masks). */
  transform?(param: Value, weight: tf.Tensor): tf.Tensor;
  /** After each optimizer step, once the trained variables hold the new values. */
  afterStep?(info: StepInfo): Metrics | void;
  /** After each epoch's validation. */
  afterEpoch?(info: EpochInfo): Metrics | void;
  /** State that a checkpoint must keep for a resumed run to continue exactly (e.g. ADMM's Z and U). */
  saveState?(): OptimizerState;
  loadState?(state: OptimizerState): void;
  dispose?(): void;
}

export interface TrainingPlugins {
  optimizer: OptimizerFactory;
  extensions?: readonly ExtensionFactory[];
  /**
   * The variables the optimizer trains, keyed by the initializer each one drives; by default the
   * mirror's parameters. PEMN returns mask scores in place of the weights it freezes. Variables
   * that are not the mirror's belong to the trainer from then on (it disposes them).
   */
  trainedVariables?(mirror: Mirror): Map<Value, tf.Variable>;
}
