import { Rng } from '../util/random.js';
import { sampleCount, type Dataset } from './types.js';

export interface Batch {
  /** size × C × H × W values. */
  images: Float32Array;
  labels: Int32Array;
}

export interface BatchOptions {
  /** Shuffle with this seed; without one, batches follow the data's order. */
  seed?: number;
  /** With `seed`, each epoch gets its own order, the same on every run (and on a resumed one). */
  epoch?: number;
  /** Leave out a last batch smaller than batchSize. */
  dropLast?: boolean;
}

/** The data in batches of `batchSize`, in order or in the seeded order of (seed, epoch). */
export function* batches(data: Dataset, batchSize: number, options: BatchOptions = {}): Generator<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const count = sampleCount(data);
  const order = Array.from({ length: count }, (_, i) => i);
  if (options.seed !== undefined) new Rng(epochSeed(options.seed, options.epoch ?? 0)).shuffle(order);
  const sampleSize = data.shape.reduce((a, b) => a * b, 1);
  const end = options.dropLast ? count - (count % batchSize) : count;
  for (let start = 0; start < end; start += batchSize) {
    const indices = order.slice(start, Math.min(start + batchSize, end));
    const images = new Float32Array(indices.length * sampleSize);
    indices.forEach((index, i) => images.set(data.images.subarray(index * sampleSize, (index + 1) * sampleSize), i * sampleSize));
    yield { images, labels: Int32Array.from(indices, (index) => data.labels[index]) };
  }
}

/** A seed per (seed, epoch) pair, the epoch mixed in by a golden-ratio multiply. */
function epochSeed(seed: number, epoch: number): number {
  return (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
}
