/**
 * Methods: the pruning or compression algorithm of a run (DHSPG; ADMM and AutoCompress; PEMN),
 * plugged into the trainer and the pipeline without either knowing it.
 *
 * A method has two sides:
 * - the session, on the thread that owns the optimizer: the optimizer itself, data-independent
 *   gradient terms added to the master copies' gradients (ADMM's ρ(W − Z + U)), per-step and
 *   per-epoch metrics, and the state a checkpoint keeps;
 * - network hooks, built on every network that runs a forward and backward pass (the full one,
 *   the small one, each worker thread's): the variables to train in place of the weights, a
 *   weight transform (PEMN's masks) and loss terms inside the tape. Hooks are rebuilt from the
 *   method's module and settings, so they must depend on nothing else.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Argv, Options } from 'yargs';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import type { Model, Value } from '../ir/graph.js';
import type { Mirror } from '../mirror/mirror.js';
import type { Json, PluginSource, PluginUse } from '../plugins.js';
import type { BaseKind, BaseOptions, Optimizer, OptimizerState, Parameter } from '../train/optimizer.js';
import type { PruningTarget } from './target.js';
import type { TrainingMode } from '../train/mode.js';
import type { TrainConfig } from '../train/trainer.js';
import type { PlanStep } from '../pipeline/plan.js';
import type { CompressionResult } from '../pipeline/report.js';
import type { Stages } from '../pipeline/stages.js';

/** What the trainer has built when it starts a method's session. */
export interface TrainingSetup {
  readonly model: Model;
  readonly mirror: Mirror;
  /** The model's ZIGs; `groupVectors(groups, params)` gives them as offsets into `params`. */
  readonly groups: GroupAnalysis;
  /** The variables the optimizer trains, keyed by the initializer each one drives (NetworkHooks.trainedVariables). */
  readonly variables: ReadonlyMap<Value, tf.Variable>;
  /** Master copies of `variables`, in their order: what the optimizer updates. */
  readonly params: readonly Parameter[];
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly config: Readonly<TrainConfig>;
}

/** Named numbers a method reports; they appear under `extra` in step and epoch reports and the log. */
export type Metrics = Record<string, number>;

export interface StepInfo {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps done so far, this one included. */
  step: number;
  lr: number;
  /** The objective's loss on this batch (method loss terms not included). */
  loss: number;
}

export interface EpochInfo {
  /** 1-based; the epoch just finished. */
  epoch: number;
  step: number;
}

/** The method's side on the optimizer's thread. */
export interface MethodSession {
  optimizer: Optimizer;
  /** Adds data-independent terms to the gradients of the master copies, before the optimizer steps (ADMM's ρ(W − Z + U)). */
  gradientTerm?(grads: readonly Float32Array[], params: readonly Parameter[]): void;
  /** After each optimizer step, once the trained variables hold the new values. */
  afterStep?(info: StepInfo): Metrics | void;
  /** After each epoch's validation. */
  afterEpoch?(info: EpochInfo): Metrics | void;
  /** State that a checkpoint must keep for a resumed run to continue exactly (e.g. ADMM's Z and U). */
  saveState?(): OptimizerState;
  loadState?(state: OptimizerState): void;
  dispose?(): void;
}

/** What network hooks are built on: one network's model and mirror. */
export interface NetworkSetup {
  readonly model: Model;
  readonly mirror: Mirror;
  /** The tfjs module the network runs on: a method's module loads tfjs only when it trains, so the commands that do not train start without it. */
  readonly tf: typeof tf;
}

/** The method's side on every network that computes gradients. */
export interface NetworkHooks {
  /**
   * The variables to train, keyed by the initializer each one drives, each of that initializer's
   * shape; by default the mirror's parameters. PEMN returns mask scores in place of the weights it
   * freezes. Variables that are not the mirror's belong to the hooks (dispose frees them).
   */
  trainedVariables?(): Map<Value, tf.Variable>;
  /** Applied to each parameter in every forward pass, training and evaluation (e.g. PEMN masks). */
  transform?(param: Value, weight: tf.Tensor): tf.Tensor;
  /** Added to the loss inside the gradient tape; given the mirror's parameters. */
  lossTerm?(params: ReadonlyMap<Value, tf.Variable>): tf.Scalar;
  dispose?(): void;
}

/** A method's command-line options: shown under its own heading, refused with another method. */
export interface MethodCli<S> {
  /** yargs options by flag name (dashed). */
  readonly options: Readonly<Record<string, Options>>;
  /** The settings from the parsed arguments and the run's common ones; throws an OtocError naming a bad option. */
  settings(args: Record<string, unknown>, common: CommonSettings): S;
  /** The method's own defaults of the training options it is tuned for (PEMN: AdamW and its lr), where the command line gives none. */
  readonly trainingDefaults?: TrainingDefaults;
  /** Where the method's options ask for the full model to be written besides --keep-full (PEMN's --materialize). */
  fullModelFile?(args: Record<string, unknown>): string | undefined;
}

/** The base optimizer's options, as `otoc compress` takes them. */
export interface TrainingDefaults {
  optimizer?: BaseKind;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
}

/** What every method's settings start from: the base optimizer, the seed, the pruning target, the training mode. */
export interface CommonSettings {
  base: BaseOptions;
  seed: number;
  target: PruningTarget;
  /** Whether the model is a trained one to fine-tune (its defaults, e.g. when pruning starts: src/train/mode.ts); absent: scratch. */
  mode?: TrainingMode;
}

export interface MethodPlugin<S = unknown> extends PluginSource {
  /** Two lines for `--help`. */
  readonly summary: string;
  readonly cli?: MethodCli<S>;
  /** The method's session; the trainer calls it once the network is built. */
  session(settings: S, setup: TrainingSetup): MethodSession;
  /** Hooks for each network; absent: the network trains its parameters as they are. */
  network?(settings: S, setup: NetworkSetup): NetworkHooks;
  /** The pipeline's steps for this method, from the default ones; absent: the default plan. */
  plan?(settings: S, stages: Stages): PlanStep[];
  /** The method's section of the report (beside its name and settings); `state` is what the plan's steps kept (PipelineContext.state). */
  report?(settings: S, session: MethodSession | undefined, state: Readonly<Record<string, unknown>>): Record<string, Json>;
  /** Lines for the text report, from the method's section of it and the whole result (absent: none). */
  reportLines?(section: Readonly<Record<string, Json>>, result: Readonly<CompressionResult>): string[];
}

export type MethodUse<S = unknown> = PluginUse<MethodPlugin<S>, S>;

/**
 * The options of every method on top of `y`, under a heading per method; options that several
 * methods take show once, under a heading that names them all.
 */
export function withMethodOptions<T>(y: Argv<T>, methods: readonly MethodPlugin[]): Argv<T> {
  const groups = new Map<string, { takers: string[]; options: Record<string, Options> }>();
  for (const m of methods) {
    for (const [flag, option] of Object.entries(m.cli?.options ?? {})) {
      const takers = methods.filter((o) => flag in (o.cli?.options ?? {})).map((o) => o.name);
      const group = groups.get(takers.join()) ?? { takers, options: {} };
      group.options[flag] ??= option;
      groups.set(takers.join(), group);
    }
  }
  let out = y;
  for (const { takers, options } of groups.values()) {
    const heading = `${takers.join(' and ')} options (--method ${takers.join(', ')}):`;
    out = out.options(options).group(Object.keys(options), heading) as unknown as Argv<T>;
  }
  return out;
}
