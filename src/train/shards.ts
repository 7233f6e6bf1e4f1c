/*
 * Data-parallel steps: a batch is cut into shards, each shard's forward and backward pass runs on
 * its own (BatchNorm normalizes each shard by the shard's own statistics, as PyTorch's
 * DistributedDataParallel without SyncBatchNorm does), and the shards' results are combined:
 * gradients and losses as size-weighted means, which is the gradient of the batch's mean loss,
 * and BatchNorm running statistics as the size-weighted mean of each shard's update.
 */
import * as tf from '@tensorflow/tfjs';
import { sliceSamples, type Batch } from '../data/samples.js';
import type { Mirror } from '../mirror/mirror.js';
import type { BatchGradients, MetricSums } from './step.js';

export interface ShardResult extends BatchGradients {
  count: number;
  /** The mirror's buffers (BatchNorm running statistics) after the shard's forward pass, in `mirror.buffers` order. */
  buffers: Float32Array[];
}

/** `batch` cut into at most `count` contiguous shards of near-equal size, none empty. */
export function splitBatch(batch: Batch, count: number): Batch[] {
  const n = batch.count;
  const shards = Math.min(count, n);
  return Array.from({ length: shards }, (_, k) => sliceSamples(batch, Math.floor((k * n) / shards), Math.floor(((k + 1) * n) / shards)));
}

/** The batch's gradients, loss and buffers from its shards'; shards are added in order, so the result is reproducible. */
export function combineShards(results: readonly ShardResult[]): BatchGradients & { buffers: Float32Array[] } {
  const total = results.reduce((a, r) => a + r.count, 0);
  const weightedMean = (arrays: (r: ShardResult) => Float32Array[]) =>
    arrays(results[0]).map((first, i) => {
      const out = new Float32Array(first.length);
      for (const r of results) {
        const w = r.count / total;
        const a = arrays(r)[i];
        for (let j = 0; j < out.length; j++) out[j] += w * a[j];
      }
      return out;
    });
  return {
    grads: weightedMean((r) => r.grads),
    loss: results.reduce((a, r) => a + (r.count / total) * r.loss, 0),
    metrics: sumMetrics(results.map((r) => r.metrics)),
    buffers: weightedMean((r) => r.buffers),
  };
}

/** The sum of each metric over `parts`. */
export function sumMetrics(parts: readonly MetricSums[]): MetricSums {
  const out: MetricSums = {};
  for (const part of parts) for (const [name, value] of Object.entries(part)) out[name] = (out[name] ?? 0) + value;
  return out;
}

/** The Dropout seed of shard `k`: the step's own for shard 0, so one shard is plain training. */
export function shardSeed(stepSeed: number, k: number): number {
  return (stepSeed + Math.imul(k, 0x85ebca6b)) >>> 0;
}

export function readBuffers(mirror: Mirror): Float32Array[] {
  return [...mirror.buffers.values()].map((v) => new Float32Array(v.dataSync()));
}

export function writeBuffers(mirror: Mirror, buffers: readonly Float32Array[]): void {
  const variables = [...mirror.buffers.values()];
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(buffers[i], v.shape))));
}
