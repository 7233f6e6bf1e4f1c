/**
 * The trainer: epochs of seeded batches through the mirror, softmax cross-entropy on the model's
 * logits, a pluggable optimizer over master copies of the parameters, validation after every
 * epoch. Methods plug in through TrainingPlugins (extensions.ts). The trainer does no file I/O:
 * `state()` and `restore()` are what a checkpoint stores.
 */
import * as tf from '@tensorflow/tfjs';
import { encodeModel } from '../onnx/write.js';
import type { BackendName } from '../tfjs/backend.js';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import { batches, sampleCount, type Batch, type Dataset } from '../data/index.js';
import { OtocError } from '../errors.js';
import type { Model, Value } from '../ir/graph.js';
import { buildMirror, type Mirror } from '../mirror/mirror.js';
import { analyzeModel } from '../pipeline/analyze.js';
import { classifierInterface, type ClassifierInterface } from './classifier.js';
import type { Metrics, TrainingExtension, TrainingPlugins, TrainingSetup } from './extensions.js';
import type { Optimizer, OptimizerState, Parameter } from './optimizer.js';
import type { EpochReport, StepReport, TrainingObserver } from './reports.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { ShardedStep } from './sharded-step.js';
import type { WorkerInit } from './shard-worker.js';
import { ShrunkNetwork } from './shrink.js';
import { TrainingStep, masterCopies, type BatchGradients, type LossShaping } from './step.js';

export interface TrainConfig {
  epochs: number;
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
   * Default true; it applies to optimizers that say when their groups are settled (DHSPG) and
   * runs without loss terms, weight transforms or chosen variables.
   */
  shrink?: boolean;
}

export const EVAL_BATCH_SIZE = 256;

export interface TrainingData {
  train: Dataset;
  val?: Dataset;
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
  correct: number;
  images: number;
  seconds: number;
}

/** Everything a checkpoint keeps: numbers, arrays and float arrays. */
export interface TrainerState {
  position: Position;
  /** Every parameter, buffer (BatchNorm running statistics) and other trained variable, by kind and initializer name. */
  variables: Record<string, Float32Array>;
  optimizer: OptimizerState;
  extensions: OptimizerState[];
  history: EpochReport[];
}

export interface Evaluation {
  loss: number;
  accuracy: number;
}

export class Trainer {
  /** The full network's mirror; after a move to the small network, current only after syncFullMirror(). */
  private readonly mirror: Mirror;
  readonly groups: GroupAnalysis;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  private readonly trained: Map<Value, tf.Variable>;
  private readonly params: Parameter[];
  private readonly optimizer: Optimizer;
  private readonly extensions: TrainingExtension[];
  private readonly step: TrainingStep;
  private readonly sharded?: ShardedStep;
  private readonly io: ClassifierInterface;
  /** Whether this run may move to the small network (TrainConfig.shrink), until a try finds nothing to cut. */
  private mayShrink: boolean;
  private shrunk?: ShrunkNetwork;
  private position: Position = { epoch: 0, stepInEpoch: 0, step: 0, totals: emptyTotals() };
  private history: EpochReport[] = [];

  /** Analyzes `model` (folding its constants in place) and builds its mirror. */
  constructor(
    readonly model: Model,
    private readonly data: TrainingData,
    readonly config: TrainConfig,
    plugins: TrainingPlugins,
  ) {
    checkTrainConfig(config);
    const { facts, groups } = analyzeModel(model);
    const io = classifierInterface(model, facts, data.train);
    this.io = io;
    if (data.val && data.val.shape.join() !== data.train.shape.join()) throw new Error('validation and training images differ in shape');
    this.groups = groups;
    this.mirror = buildMirror(model);
    try {
      this.trained = plugins.trainedVariables?.(this.mirror) ?? this.mirror.params;
      this.params = masterCopies(this.trained);
      this.stepsPerEpoch = Math.ceil(sampleCount(data.train) / config.batchSize);
      this.totalSteps = this.stepsPerEpoch * config.epochs;
      const setup: TrainingSetup = {
        model,
        mirror: this.mirror,
        groups,
        variables: this.trained,
        params: this.params,
        stepsPerEpoch: this.stepsPerEpoch,
        totalSteps: this.totalSteps,
        config,
      };
      this.optimizer = plugins.optimizer(setup);
      this.extensions = (plugins.extensions ?? []).map((create) => create(setup));
      const shaping = shapingOf(this.extensions);
      this.step = new TrainingStep(this.mirror, io, this.trained, this.params, shaping);
      const plainSteps = !shaping.lossTerms.length && !shaping.transform && !plugins.trainedVariables;
      this.mayShrink = (config.shrink ?? true) && plainSteps && this.optimizer.settledZeroGroups !== undefined;
      const shards = config.shards ?? 1;
      if (shards > 1) {
        if (!plainSteps) {
          throw new OtocError('training over several shards or threads supports no loss terms, weight transforms or chosen variables yet');
        }
        this.sharded = new ShardedStep(this.step, this.mirror, shards, this.workerCount, () =>
          this.workerInit(model, [...this.trained.keys()].map((v) => v.name)),
        );
      }
    } catch (e) {
      this.mirror.dispose();
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
    const { epochs, batchSize, seed } = this.config;
    while (this.position.epoch < epochs) {
      const done = this.position.stepInEpoch;
      let index = 0;
      for (const batch of batches(this.data.train, batchSize, { seed, epoch: this.position.epoch })) {
        if (index++ < done) continue;
        await yieldToEventLoop();
        if (signal?.aborted) return false;
        await this.shrinkIfSettled(observer);
        const stepReport = await this.trainStep(batch);
        observer.onStep?.(stepReport);
      }
      const epochReport = this.finishEpoch();
      observer.onEpoch?.(epochReport);
    }
    return true;
  }

  /** Mean cross-entropy and accuracy on `data`, in eval mode. */
  evaluate(data: Dataset): Evaluation {
    let lossSum = 0;
    let correct = 0;
    for (const batch of batches(data, this.config.evalBatchSize)) {
      const r = (this.shrunk ?? this.step).evaluate(batch);
      lossSum += r.lossSum;
      correct += r.correct;
    }
    const n = sampleCount(data);
    return { loss: lossSum / n, accuracy: correct / n };
  }

  /** A copy of everything a resumed run needs. */
  state(): TrainerState {
    this.syncFullMirror();
    return {
      position: structuredClone(this.position),
      variables: Object.fromEntries([...this.variables()].map(([key, v]) => [key, new Float32Array(v.dataSync())])),
      optimizer: copyState(this.optimizer.saveState()),
      extensions: this.extensions.map((e) => copyState(e.saveState?.() ?? {})),
      history: structuredClone(this.history),
    };
  }

  /** Continues from `state` (of a trainer of the same model, data and configuration). */
  restore(state: TrainerState): void {
    void this.shrunk?.dispose();
    this.shrunk = undefined;
    const variables = this.variables();
    tf.tidy(() => {
      for (const [key, variable] of variables) {
        const data = state.variables[key];
        if (data?.length !== variable.size) throw new OtocError(`the checkpoint has no values for ${key} (${variable.size} elements)`);
        variable.assign(tf.tensor(data, variable.shape));
      }
    });
    this.step.download();
    this.optimizer.loadState(state.optimizer);
    this.extensions.forEach((e, i) => e.loadState?.(state.extensions[i] ?? {}));
    this.position = structuredClone(state.position);
    this.history = structuredClone(state.history);
  }

  /** Writes the trained parameters and BatchNorm statistics into `target`'s initializers. */
  exportTo(target: Model = this.model): void {
    this.syncFullMirror();
    this.mirror.exportTo(target);
  }

  /** Frees the tensors and stops the worker threads. */
  async dispose(): Promise<void> {
    await this.shrunk?.dispose();
    await this.sharded?.dispose();
    for (const e of this.extensions) e.dispose?.();
    for (const [value, variable] of this.trained) if (!this.mirror.params.has(value)) variable.dispose();
    this.mirror.dispose();
  }

  private async trainStep(batch: Batch): Promise<StepReport> {
    const p = this.position;
    const lr = learningRate(this.config.schedule, this.config.lr, p.step, this.totalSteps);
    const start = performance.now();
    const seed = dropoutSeed(this.config.seed, p.step);
    const g: BatchGradients = this.shrunk
      ? await this.shrunk.gradients(batch, seed)
      : this.sharded
        ? await this.sharded.gradients(batch, seed)
        : this.step.gradients(batch, seed);
    if (!Number.isFinite(g.loss)) {
      throw new OtocError(`the loss became ${g.loss} at step ${p.step + 1} (learning rate ${lr.toPrecision(3)}): try a smaller --lr`);
    }
    const computed = performance.now();
    this.optimizer.step(g.grads, lr);
    const updated = performance.now();
    (this.shrunk ?? this.step).upload();
    const end = performance.now();
    const seconds = (end - start) / 1000;
    const phases = { gradients: (computed - start) / 1000, optimizer: (updated - computed) / 1000, upload: (end - updated) / 1000 };
    const images = batch.labels.length;
    p.step++;
    p.stepInEpoch++;
    const t = p.totals;
    t.lossSum += g.loss * images;
    t.correct += g.correct;
    t.images += images;
    t.seconds += seconds;
    const extra = merged(this.extensions.map((e) => e.afterStep?.({ epoch: p.epoch + 1, step: p.step, lr, loss: g.loss })));
    return {
      epoch: p.epoch + 1,
      step: p.step,
      stepInEpoch: p.stepInEpoch,
      stepsPerEpoch: this.stepsPerEpoch,
      lr,
      loss: g.loss,
      accuracy: g.correct / images,
      images,
      seconds,
      phases,
      epochLoss: t.lossSum / t.images,
      epochAccuracy: t.correct / t.images,
      imagesPerSecond: t.images / t.seconds,
      extra,
    };
  }

  private finishEpoch(): EpochReport {
    const p = this.position;
    const t = p.totals;
    const val = this.data.val && this.evaluate(this.data.val);
    const epoch = p.epoch + 1;
    const report: EpochReport = {
      epoch,
      step: p.step,
      lr: learningRate(this.config.schedule, this.config.lr, p.step - 1, this.totalSteps),
      trainLoss: t.lossSum / t.images,
      trainAccuracy: t.correct / t.images,
      ...(val && { valLoss: val.loss, valAccuracy: val.accuracy }),
      imagesPerSecond: t.images / t.seconds,
      seconds: t.seconds,
      extra: merged(this.extensions.map((e) => e.afterEpoch?.({ epoch, step: p.step }))),
    };
    this.history.push(report);
    this.position = { epoch, stepInEpoch: 0, step: p.step, totals: emptyTotals() };
    return report;
  }

  /** Moves to the small network once the optimizer's zero groups are settled (TrainConfig.shrink). */
  private async shrinkIfSettled(observer: TrainingObserver): Promise<void> {
    if (!this.mayShrink || this.shrunk) return;
    const settled = this.optimizer.settledZeroGroups?.();
    if (!settled) return;
    this.shrunk = ShrunkNetwork.build({
      model: this.model,
      groups: this.groups,
      mirror: this.mirror,
      params: this.params,
      io: this.io,
      settled,
      shards: this.config.shards ?? 1,
      workers: this.workerCount,
      workerInit: (small, params) => this.workerInit(small, params),
    });
    if (!this.shrunk) {
      this.mayShrink = false;
      return;
    }
    this.shrunk.upload();
    // The full network's worker threads have nothing more to do (restore() would start them again).
    await this.sharded?.dispose();
    observer.onShrink?.({ step: this.position.step, ...this.shrunk.report });
  }

  /** After steps on the small network: the full mirror gets the master copies and the BatchNorm statistics. */
  private syncFullMirror(): void {
    if (!this.shrunk) return;
    this.step.upload();
    this.shrunk.writeBuffersTo(this.mirror);
  }

  private get workerCount(): number {
    const shards = this.config.shards ?? 1;
    return Math.min(this.config.workers ?? 0, shards - 1);
  }

  private workerInit(model: Model, params: string[]): WorkerInit {
    return { model: encodedForWorkers(model), backend: tf.getBackend() as BackendName, io: this.io, params };
  }

  /** Every variable a checkpoint keeps, by a key that names its kind and initializer. */
  private variables(): Map<string, tf.Variable> {
    const keyed = new Map<string, tf.Variable>();
    for (const [v, variable] of this.mirror.params) keyed.set(`param:${v.name}`, variable);
    for (const [v, variable] of this.mirror.buffers) keyed.set(`buffer:${v.name}`, variable);
    for (const [v, variable] of this.trained) if (!this.mirror.params.has(v)) keyed.set(`trained:${v.name}`, variable);
    return keyed;
  }
}

/** Throws an OtocError naming the first setting of `c` that is out of range. */
export function checkTrainConfig(c: TrainConfig): void {
  const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;
  if (!positiveInteger(c.epochs)) throw new OtocError(`the number of epochs must be a positive integer, got ${c.epochs}`);
  if (!positiveInteger(c.batchSize)) throw new OtocError(`the batch size must be a positive integer, got ${c.batchSize}`);
  if (!positiveInteger(c.evalBatchSize)) throw new OtocError(`the evaluation batch size must be a positive integer, got ${c.evalBatchSize}`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new OtocError(`the learning rate must be a positive number, got ${c.lr}`);
  if (!Number.isInteger(c.seed)) throw new OtocError(`the seed must be an integer, got ${c.seed}`);
  if (!positiveInteger(c.shards ?? 1)) throw new OtocError(`the number of shards must be a positive integer, got ${c.shards}`);
  if (!(Number.isInteger(c.workers ?? 0) && (c.workers ?? 0) >= 0)) throw new OtocError(`the number of workers must be a whole number, got ${c.workers}`);
}

/** The model for worker threads, which read no external-data files. */
function encodedForWorkers(model: Model): Uint8Array {
  const { model: bytes, external } = encodeModel(model);
  if (external.size) throw new OtocError('training on several threads needs a model without external data');
  return bytes;
}

function shapingOf(extensions: readonly TrainingExtension[]): LossShaping {
  const lossTerms = extensions.flatMap((e) => (e.lossTerm ? [e.lossTerm.bind(e)] : []));
  const transforms = extensions.flatMap((e) => (e.transform ? [e.transform.bind(e)] : []));
  const transform = transforms.length
    ? (param: Value, weight: tf.Tensor) => transforms.reduce((w, f) => f(param, w), weight)
    : undefined;
  return { lossTerms, transform };
}

function emptyTotals(): EpochTotals {
  return { lossSum: 0, correct: 0, images: 0, seconds: 0 };
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
