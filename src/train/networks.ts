/**
 * Which network computes a step's gradients: the full one, on this thread or over data-parallel
 * shards (worker threads), or, once the optimizer's zero groups are settled, the small one
 * without them (shrink.ts). The epoch loop asks for gradients and does not know which.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/samples.js';
import type { Model } from '../ir/graph.js';
import { encodeModel } from '../onnx/write.js';
import { OtocError } from '../errors.js';
import type { BackendName } from '../tfjs/backend-names.js';
import { setKernelThreads } from '../tfjs/kernels/native-addon.js';
import { Network, networkRef, type NetworkRun } from './network.js';
import type { Optimizer } from './optimizer.js';
import { ShardedStep } from './sharded-step.js';
import type { WorkerInit } from './shard-worker.js';
import { ShrunkNetwork, type ShrinkInput, type ShrinkReport } from './shrink.js';
import type { BatchGradients, MetricSums } from './step.js';

export interface NetworkOptions {
  /** Cut every batch into this many shards (shards.ts). */
  shards: number;
  /** Worker threads that compute shards 2 … `shards`. */
  workers: number;
  /** Whether the small network may take over once the optimizer's zero groups are settled. */
  shrink: boolean;
}

export class Networks {
  private readonly sharded?: ShardedStep;
  private shrunk?: ShrunkNetwork;
  /** Whether a move to the small network is still possible, until a try finds nothing to cut. */
  private mayShrink: boolean;
  /** Kernel threads of every shard's computation, on this thread or a worker thread: the cores shared out between the shards. */
  private readonly kernelThreads: number;

  constructor(
    /** The full model and its group analysis, which names the optimizer's groups. */
    private readonly analyzed: ShrinkInput['analyzed'],
    readonly full: Network,
    private readonly run: NetworkRun,
    private readonly options: NetworkOptions,
  ) {
    this.mayShrink = options.shrink;
    // By the shards, not by the workers that compute them: a shard's kernels (their sums) must not
    // depend on where it runs, so that the result does not either.
    this.kernelThreads = setKernelThreads(options.shards);
    if (options.shards > 1) {
      const names = [...full.trained.keys()].map((v) => v.name);
      this.sharded = new ShardedStep(full.step, full.mirror, options.shards, options.workers, () => this.workerInit(analyzed.model, names));
    }
  }

  async gradients(batch: Batch, dropoutSeed: number): Promise<BatchGradients> {
    if (this.shrunk) return this.shrunk.gradients(batch, dropoutSeed);
    return this.sharded ? this.sharded.gradients(batch, dropoutSeed) : this.full.step.gradients(batch, dropoutSeed);
  }

  /** Writes the master copies into the variables of the network that computes. */
  upload(): void {
    (this.shrunk ?? this.full.step).upload();
  }

  /** Evaluates on this thread alone, so on all the cores' kernel threads. */
  evaluate(batch: Batch): { lossSum: number; metrics: MetricSums } {
    setKernelThreads(1);
    try {
      return (this.shrunk ?? this.full.step).evaluate(batch);
    } finally {
      setKernelThreads(this.options.shards);
    }
  }

  /** Moves to the small network once `optimizer`'s zero groups are settled; the move's report, if it moved now. */
  async shrinkIfSettled(optimizer: Optimizer): Promise<Omit<ShrinkReport, 'step'> | undefined> {
    if (!this.mayShrink || this.shrunk) return undefined;
    const settled = optimizer.settledZeroGroups?.();
    if (!settled) return undefined;
    this.shrunk = ShrunkNetwork.build({
      analyzed: this.analyzed,
      full: this.full,
      run: this.run,
      settled,
      shards: this.options.shards,
      workers: this.options.workers,
      workerInit: (small, params) => this.workerInit(small, params),
    });
    if (!this.shrunk) {
      this.mayShrink = false;
      return undefined;
    }
    this.shrunk.upload();
    // The full network's worker threads have nothing more to do (a restored run starts them again).
    await this.sharded?.dispose();
    return this.shrunk.report;
  }

  /** Back to the full network (a checkpoint is being restored); the small one's worker threads stop in the background. */
  unshrink(): void {
    void this.shrunk?.dispose();
    this.shrunk = undefined;
    this.mayShrink = this.options.shrink;
  }

  /** After steps on the small network: the full mirror gets the master copies and the BatchNorm statistics. */
  syncFull(): void {
    if (!this.shrunk) return;
    this.full.step.upload();
    this.shrunk.writeBuffersTo(this.full.mirror);
  }

  async dispose(): Promise<void> {
    await this.shrunk?.dispose();
    await this.sharded?.dispose();
    this.full.dispose();
  }

  private workerInit(model: Model, params: string[]): WorkerInit {
    return { model: encodedForWorkers(model), backend: tf.getBackend() as BackendName, kernelThreads: this.kernelThreads, run: networkRef(this.run), params };
  }
}

/** The model for worker threads, which read no external-data files. */
function encodedForWorkers(model: Model): Uint8Array {
  const { model: bytes, external } = encodeModel(model);
  if (external.size) throw new OtocError('training on several threads needs a model without external data');
  return bytes;
}
