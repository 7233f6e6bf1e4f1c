/**
 * The trainer: epochs of seeded batches through the networks (networks.ts), the run's objective
 * on the model's outputs, the method's optimizer over master copies of the trained variables,
 * validation after every epoch. Methods and objectives plug in (src/methods/, src/objectives/).
 * The trainer takes a model that is already analyzed; it does no file I/O: `state()` and
 * `restore()` are what a checkpoint stores.
 */
import * as tf from '@tensorflow/tfjs';
import { batches, type Batch, type Samples } from '../data/samples.js';
import { OtocError } from '../errors.js';
import type { Metrics, MethodSession, TrainingSetup } from '../methods/method.js';
import type { AnalyzedModel } from '../pipeline/analyze.js';
import { checkObjectives } from '../objectives/objective.js';
import { Network, type NetworkRun } from './network.js';
import { Networks } from './networks.js';
import type { OptimizerState } from './optimizer.js';
import { checkSavedState } from './checkpoint.js';
import type { EpochReport, StepReport, TrainingObserver } from './observer.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { sumMetrics } from './shards.js';
import type { MetricSums } from './step.js';

export interface TrainConfig {
  epochs: number;
  /**
   * Train this many steps in place of `epochs` full epochs, the last epoch stopping short (a
   * method's plan splits one budget of steps between its trainings); the learning-rate schedule
   * spans these steps. `epochs` must then be the epochs they touch.
   */
  steps?: number;
  batchSize: number;
  /** Base learning rate; the schedule scales it per step. */
  lr: number;
  schedule: LrSchedule;
  /** Seeds the batch order of every epoch and the Dropout masks of every step. */
  seed: number;
  /** Batch size of validation passes (no gradients, so larger is fine). */
  evalBatchSize: number;
  /**
   * Cut every batch into this many shards, each normalized by its own BatchNorm statistics, and
   * combine their gradients (shards.ts). Default 1: the whole batch, as PyTorch trains.
   */
  shards?: number;
  /** Worker threads that compute shards 2 … `shards` in parallel; fewer (default 0) leave the rest to this thread, with the same result. */
  workers?: number;
  /**
   * Once the optimizer's zero groups are settled, compute the gradients on the network without
   * them (shrink.ts): the same training up to float rounding, at the small network's cost.
   * Default true; it applies to optimizers that say when their groups are settled (DHSPG).
   */
  shrink?: boolean;
}

export const EVAL_BATCH_SIZE = 256;

export interface TrainingData {
  train: Samples;
  val?: Samples;
  /**
   * Adds the per-sample targets a batch lacks (a teacher's outputs, when they are too large to
   * hold for every sample); batches of `train` and `val` pass through it before every step and evaluation.
   */
  complete?: (batch: Batch) => Promise<Batch>;
}

/** Where a run stands: what a resumed run continues from. */
export interface Position {
  /** Epochs finished. */
  epoch: number;
  /** Steps done in the epoch under way. */
  stepInEpoch: number;
  /** Steps done in all. */
  step: number;
  /** Sums over the epoch under way. */
  totals: EpochTotals;
}

interface EpochTotals {
  lossSum: number;
  /** The objective's metric sums (e.g. `correct`). */
  metrics: MetricSums;
  samples: number;
  seconds: number;
}

/** Everything a checkpoint keeps: numbers, arrays and float arrays. */
export interface TrainerState {
  position: Position;
  /** Every parameter, buffer (BatchNorm running statistics) and other trained variable, by kind and initializer name. */
  variables: Record<string, Float32Array>;
  optimizer: OptimizerState;
  /** The method session's own state. */
  method: OptimizerState;
  history: EpochReport[];
}

export interface Evaluation {
  loss: number;
  /** Present when the objective counts correct predictions. */
  accuracy?: number;
  metrics: MetricSums;
}

export class Trainer {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly networks: Networks;
  private readonly session: MethodSession;
  private position: Position = { epoch: 0, stepInEpoch: 0, step: 0, totals: emptyTotals() };
  private history: EpochReport[] = [];

  /** Builds the mirror of the analyzed model and the method's session. */
  constructor(
    readonly analyzed: AnalyzedModel,
    private readonly data: TrainingData,
    readonly config: TrainConfig,
    run: NetworkRun,
  ) {
    checkTrainConfig(config);
    const { model, facts, groups } = analyzed;
    checkObjectives(run.objectives, { model, facts, data: data.train });
    if (data.val && !sameInputs(data.val, data.train)) throw new Error('validation and training samples differ in shape');
    const full = Network.build(model, run);
    try {
      this.stepsPerEpoch = Math.ceil(data.train.count / config.batchSize);
      this.totalSteps = config.steps ?? this.stepsPerEpoch * config.epochs;
      if (Math.ceil(this.totalSteps / this.stepsPerEpoch) !== config.epochs) {
        throw new Error(`internal: ${this.totalSteps} steps of ${this.stepsPerEpoch} per epoch are not ${config.epochs} epochs`);
      }
      const setup: TrainingSetup = {
        model,
        mirror: full.mirror,
        groups,
        variables: full.trained,
        params: full.params,
        stepsPerEpoch: this.stepsPerEpoch,
        totalSteps: this.totalSteps,
        config,
      };
      this.session = run.method.plugin.session(run.method.settings, setup);
      const shards = config.shards ?? 1;
      const workers = Math.min(config.workers ?? 0, shards - 1);
      this.networks = new Networks(analyzed, full, run, { shards, workers, shrink: config.shrink ?? true });
    } catch (e) {
      full.dispose();
      throw e;
    }
  }

  /** Epochs finished so far, with their reports. */
  get epochs(): readonly EpochReport[] {
    return this.history;
  }

  /**
   * Trains from where the run stands to the last epoch. Stops before the next step once `signal`
   * is aborted (the state is then consistent, ready for a checkpoint) and returns whether it finished.
   */
  async fit(observer: TrainingObserver = {}, signal?: AbortSignal): Promise<boolean> {
    const { batchSize, seed } = this.config;
    while (this.position.step < this.totalSteps) {
      const done = this.position.stepInEpoch;
      let index = 0;
      for (const batch of batches(this.data.train, batchSize, { seed, epoch: this.position.epoch })) {
        if (index++ < done) continue;
        if (this.position.step >= this.totalSteps) break;
        await yieldToEventLoop();
        if (signal?.aborted) return false;
        const moved = await this.networks.shrinkIfSettled(this.session.optimizer);
        if (moved) observer.onShrink?.({ step: this.position.step, ...moved });
        const report = await this.trainStep(await this.completed(batch));
        observer.onStep?.(report);
      }
      const epochReport = await this.finishEpoch();
      observer.onEpoch?.(epochReport);
    }
    return true;
  }

  /** The objective's mean loss and metrics on `data`, in eval mode. */
  async evaluate(data: Samples): Promise<Evaluation> {
    let lossSum = 0;
    const sums: MetricSums[] = [];
    for (const batch of batches(data, this.config.evalBatchSize)) {
      const r = this.networks.evaluate(await this.completed(batch));
      lossSum += r.lossSum;
      sums.push(r.metrics);
    }
    const metrics = sumMetrics(sums);
    return { loss: lossSum / data.count, ...accuracyOf(metrics, data.count), metrics };
  }

  /** A copy of everything a resumed run needs. */
  state(): TrainerState {
    this.networks.syncFull();
    return {
      position: structuredClone(this.position),
      variables: Object.fromEntries([...this.variables()].map(([key, v]) => [key, new Float32Array(v.dataSync())])),
      optimizer: copyState(this.session.optimizer.saveState()),
      method: copyState(this.session.saveState?.() ?? {}),
      history: structuredClone(this.history),
    };
  }

  /** Continues from `state` (of a trainer of the same model, data and configuration). */
  restore(state: TrainerState): void {
    checkSavedState(state.optimizer, this.session.optimizer.saveState(), 'optimizer');
    checkSavedState(state.method, this.session.saveState?.() ?? {}, 'method');
    this.networks.unshrink();
    const variables = this.variables();
    tf.tidy(() => {
      for (const [key, variable] of variables) {
        const data = state.variables[key];
        if (data?.length !== variable.size) throw new OtocError(`the checkpoint has no values for ${key} (${variable.size} elements)`);
        variable.assign(tf.tensor(data, variable.shape));
      }
    });
    this.networks.full.step.download();
    this.session.optimizer.loadState(state.optimizer);
    this.session.loadState?.(state.method);
    this.position = structuredClone(state.position);
    this.history = structuredClone(state.history);
  }

  /** Writes the trained parameters and BatchNorm statistics into `target`'s initializers. */
  exportTo(target = this.analyzed.model): void {
    this.networks.syncFull();
    this.networks.full.mirror.exportTo(target);
  }

  /** The method's session (its optimizer, its report). */
  get method(): MethodSession {
    return this.session;
  }

  /** Frees the tensors and stops the worker threads. */
  async dispose(): Promise<void> {
    this.session.dispose?.();
    await this.networks.dispose();
  }

  private async trainStep(batch: Batch): Promise<StepReport> {
    const p = this.position;
    const lr = learningRate(this.config.schedule, this.config.lr, p.step, this.totalSteps);
    const start = performance.now();
    const seed = dropoutSeed(this.config.seed, p.step);
    const g = await this.networks.gradients(batch, seed);
    if (!Number.isFinite(g.loss)) {
      throw new OtocError(`the loss became ${g.loss} at step ${p.step + 1} (learning rate ${lr.toPrecision(3)}): try a smaller --lr`);
    }
    const params = this.networks.full.params;
    this.session.gradientTerm?.(g.grads, params);
    const computed = performance.now();
    this.session.optimizer.step(g.grads, lr);
    const updated = performance.now();
    this.networks.upload();
    const end = performance.now();
    const seconds = (end - start) / 1000;
    const phases = { gradients: (computed - start) / 1000, optimizer: (updated - computed) / 1000, upload: (end - updated) / 1000 };
    const count = batch.count;
    p.step++;
    p.stepInEpoch++;
    const t = p.totals;
    t.lossSum += g.loss * count;
    t.metrics = sumMetrics([t.metrics, g.metrics]);
    t.samples += count;
    t.seconds += seconds;
    const extra = merged([this.session.afterStep?.({ epoch: p.epoch + 1, step: p.step, lr, loss: g.loss })]);
    return {
      epoch: p.epoch + 1,
      step: p.step,
      stepInEpoch: p.stepInEpoch,
      stepsPerEpoch: this.stepsPerEpoch,
      lr,
      loss: g.loss,
      ...accuracyOf(g.metrics, count),
      images: count,
      seconds,
      phases,
      epochLoss: t.lossSum / t.samples,
      ...(t.metrics.correct !== undefined && { epochAccuracy: t.metrics.correct / t.samples }),
      imagesPerSecond: t.samples / t.seconds,
      extra,
    };
  }

  private completed(batch: Batch): Promise<Batch> | Batch {
    return this.data.complete ? this.data.complete(batch) : batch;
  }

  private async finishEpoch(): Promise<EpochReport> {
    const p = this.position;
    const t = p.totals;
    const val = this.data.val && (await this.evaluate(this.data.val));
    const epoch = p.epoch + 1;
    const report: EpochReport = {
      epoch,
      step: p.step,
      lr: learningRate(this.config.schedule, this.config.lr, p.step - 1, this.totalSteps),
      trainLoss: t.lossSum / t.samples,
      ...(t.metrics.correct !== undefined && { trainAccuracy: t.metrics.correct / t.samples }),
      ...(val && { valLoss: val.loss, ...(val.accuracy !== undefined && { valAccuracy: val.accuracy }) }),
      imagesPerSecond: t.samples / t.seconds,
      seconds: t.seconds,
      extra: merged([objectiveRates('train', t.metrics, t.samples), val && objectiveRates('val', val.metrics, this.data.val!.count), this.session.afterEpoch?.({ epoch, step: p.step })]),
    };
    this.history.push(report);
    this.position = { epoch, stepInEpoch: 0, step: p.step, totals: emptyTotals() };
    return report;
  }

  /** Every variable a checkpoint keeps, by a key that names its kind and initializer. */
  private variables(): Map<string, tf.Variable> {
    const { mirror, trained } = this.networks.full;
    const keyed = new Map<string, tf.Variable>();
    for (const [v, variable] of mirror.params) keyed.set(`param:${v.name}`, variable);
    for (const [v, variable] of mirror.buffers) keyed.set(`buffer:${v.name}`, variable);
    // Variables trained in place of a parameter (PEMN's scores) are kept beside it.
    for (const [v, variable] of trained) if (mirror.params.get(v) !== variable) keyed.set(`trained:${v.name}`, variable);
    return keyed;
  }
}

/** Throws an OtocError naming the first setting of `c` that is out of range. */
export function checkTrainConfig(c: TrainConfig): void {
  const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;
  if (!positiveInteger(c.epochs)) throw new OtocError(`the number of epochs must be a positive integer, got ${c.epochs}`);
  if (c.steps !== undefined && !positiveInteger(c.steps)) throw new OtocError(`the number of steps must be a positive integer, got ${c.steps}`);
  if (!positiveInteger(c.batchSize)) throw new OtocError(`the batch size must be a positive integer, got ${c.batchSize}`);
  if (!positiveInteger(c.evalBatchSize)) throw new OtocError(`the evaluation batch size must be a positive integer, got ${c.evalBatchSize}`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new OtocError(`the learning rate must be a positive number, got ${c.lr}`);
  if (!Number.isInteger(c.seed)) throw new OtocError(`the seed must be an integer, got ${c.seed}`);
  if (!positiveInteger(c.shards ?? 1)) throw new OtocError(`the number of shards must be a positive integer, got ${c.shards}`);
  if (!(Number.isInteger(c.workers ?? 0) && (c.workers ?? 0) >= 0)) throw new OtocError(`the number of workers must be a whole number, got ${c.workers}`);
}

/** Whether `a` and `b` hold the same inputs, of the same sample shapes. */
function sameInputs(a: Samples, b: Samples): boolean {
  const key = (s: Samples) => s.inputs.map((t) => `${t.name}:${t.sampleDims.join('x')}`).join();
  return key(a) === key(b);
}

/** The accuracy, when the objective counts correct predictions. */
function accuracyOf(metrics: MetricSums, count: number): { accuracy?: number } {
  return metrics.correct === undefined ? {} : { accuracy: metrics.correct / count };
}

/** The objective's metrics other than `correct` (which is the accuracy) as rates per sample, e.g. valAgreement. */
function objectiveRates(prefix: string, metrics: MetricSums, count: number): Metrics {
  const named = Object.entries(metrics).filter(([name]) => name !== 'correct');
  return Object.fromEntries(named.map(([name, sum]) => [`${prefix}${name[0].toUpperCase()}${name.slice(1)}`, sum / count]));
}

function emptyTotals(): EpochTotals {
  return { lossSum: 0, metrics: {}, samples: 0, seconds: 0 };
}

/** The Dropout seed of a step: its own, the same in a resumed run. */
function dropoutSeed(seed: number, step: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ step) >>> 0;
}

function merged(metrics: (Metrics | void)[]): Metrics {
  return Object.assign({}, ...metrics.filter(Boolean));
}

/** A copy that later optimizer steps do not change (saveState may return live buffers). */
function copyState(state: OptimizerState): OptimizerState {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, typeof v === 'number' ? v : v.slice()]));
}

/** Lets pending events (a SIGINT handler) run between steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
