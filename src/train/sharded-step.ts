import type { Batch } from '../data/samples.js';
import type { Mirror } from '../mirror/mirror.js';
import { ShardWorker, type WorkerInit } from './shard-worker.js';
import { concatenate } from './flat-arrays.js';
import { combineShards, readBuffers, shardSeed, splitBatch, writeBuffers, type ShardResult } from './shards.js';
import type { BatchGradients, TrainingStep } from './step.js';

/**
 * A training step over shards (shards.ts): shard 0 on this thread's mirror, shards 1 … n − 1 in
 * worker threads while it runs, or on this thread after it when there are fewer workers. Either
 * way each shard starts from the same weights and BatchNorm statistics, so the result does not
 * depend on where the shards ran.
 */
export class ShardedStep {
  private workers: Promise<ShardWorker[]> | undefined;

  constructor(
    private readonly local: TrainingStep,
    private readonly mirror: Mirror,
    private readonly shards: number,
    private readonly workerCount: number,
    private readonly workerInit: () => WorkerInit,
  ) {}

  async gradients(batch: Batch, dropoutSeed: number): Promise<BatchGradients> {
    const workers = await this.startWorkers();
    const parts = splitBatch(batch, this.shards);
    const start = readBuffers(this.mirror);
    const params = workers.length ? concatenate(this.local.params.map((p) => p.data)) : undefined;
    const buffers = workers.length ? concatenate(start) : undefined;
    const remote = parts.slice(1).map((shard, i) =>
      i < workers.length ? workers[i].compute({ params: params!, buffers: buffers!, shard, dropoutSeed: shardSeed(dropoutSeed, i + 1) }) : undefined,
    );
    const results: ShardResult[] = [this.runHere(parts[0], start, dropoutSeed)];
    for (const [i, pending] of remote.entries()) results.push(pending ? await pending : this.runHere(parts[i + 1], start, shardSeed(dropoutSeed, i + 1)));
    const combined = combineShards(results);
    writeBuffers(this.mirror, combined.buffers);
    return combined;
  }

  /** Stops the worker threads; a later step starts new ones. */
  async dispose(): Promise<void> {
    const workers = await this.workers?.catch(() => []);
    this.workers = undefined;
    await Promise.all((workers ?? []).map((w) => w.terminate()));
  }

  private runHere(shard: Batch, startBuffers: Float32Array[], dropoutSeed: number): ShardResult {
    writeBuffers(this.mirror, startBuffers);
    const g = this.local.gradients(shard, dropoutSeed);
    return { ...g, count: shard.count, buffers: readBuffers(this.mirror) };
  }

  private startWorkers(): Promise<ShardWorker[]> {
    if (!this.workers) {
      const init = this.workerInit();
      const lengths = { params: this.local.params.map((p) => p.data.length), buffers: [...this.mirror.buffers.values()].map((v) => v.size) };
      this.workers = Promise.all(Array.from({ length: this.workerCount }, () => ShardWorker.start(init, lengths)));
    }
    return this.workers;
  }
}
