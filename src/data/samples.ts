/**
 * What the trainer trains on, whatever the model: samples of any number of named model inputs,
 * with optional per-sample targets (classifier labels, or named arrays such as a teacher's
 * outputs). A batch is samples too, so shards, worker threads and the small network all take the
 * same thing.
 */
import type { DataType } from '../ir/dtype.js';
import { Rng } from '../util/random.js';
import type { Dataset } from './types.js';

/** Per-sample values: float32, or int32 for integer and bool inputs (tfjs has no int64). */
export type SampleData = Float32Array | Int32Array;

/** One named array of samples: `count` samples of `sampleDims` each, one after another. */
export interface SampleTensor {
  name: string;
  sampleDims: number[];
  data: SampleData;
  /** The model input's type, when it is not the array's (float64, float16, int64, bool, …): onnxruntime is fed that type. */
  dataType?: DataType;
}

export interface Samples {
  count: number;
  /** The model inputs, by graph input name. */
  inputs: SampleTensor[];
  /** Class labels in 0 … classes − 1. */
  labels?: Int32Array;
  classes?: number;
  /** Other per-sample targets (e.g. a teacher's outputs), by name. */
  targets?: SampleTensor[];
}

/** A batch is a few samples. */
export type Batch = Samples;

export interface BatchOptions {
  /** Shuffle with this seed; without one, batches follow the data's order. */
  seed?: number;
  /** With `seed`, each epoch gets its own order, the same on every run (and on a resumed one). */
  epoch?: number;
  /** Leave out a last batch smaller than batchSize. */
  dropLast?: boolean;
}

/** Labeled images as the samples of one model input (no copy): `sampleDims` is one image as that input takes it. */
export function imageSamples(data: Dataset, input: string, sampleDims: number[] = data.shape): Samples {
  return {
    count: data.labels.length,
    inputs: [{ name: input, sampleDims, data: data.images }],
    labels: data.labels,
    classes: data.classes,
  };
}

/** Elements of one sample of `t`. */
export function sampleSize(t: SampleTensor): number {
  return t.sampleDims.reduce((a, b) => a * b, 1);
}

/** The data in batches of `batchSize`, in order or in the seeded order of (seed, epoch). */
export function* batches(samples: Samples, batchSize: number, options: BatchOptions = {}): Generator<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const count = samples.count;
  const order = Array.from({ length: count }, (_, i) => i);
  if (options.seed !== undefined) new Rng(epochSeed(options.seed, options.epoch ?? 0)).shuffle(order);
  const end = options.dropLast ? count - (count % batchSize) : count;
  for (let start = 0; start < end; start += batchSize) yield gatherSamples(samples, order.slice(start, Math.min(start + batchSize, end)));
}

/** The samples at `indices`, copied in that order. */
export function gatherSamples(samples: Samples, indices: readonly number[]): Samples {
  const gather = (t: SampleTensor): SampleTensor => {
    const size = sampleSize(t);
    const data = new (t.data.constructor as new (n: number) => SampleData)(indices.length * size);
    indices.forEach((index, i) => data.set(t.data.subarray(index * size, (index + 1) * size), i * size));
    return { ...t, data };
  };
  return mapSamples(samples, indices.length, gather, (labels) => Int32Array.from(indices, (index) => labels[index]));
}

/** At most `count` of the samples, spread evenly over them (every k-th), copied. */
export function spreadSamples(samples: Samples, count: number): Samples {
  const n = Math.min(count, samples.count);
  return gatherSamples(samples, Array.from({ length: n }, (_, i) => Math.floor((i * samples.count) / n)));
}

/** Samples `start` … `end` − 1, as views of `samples`' arrays. */
export function sliceSamples(samples: Samples, start: number, end: number): Samples {
  const view = (t: SampleTensor): SampleTensor => {
    const size = sampleSize(t);
    return { ...t, data: t.data.subarray(start * size, end * size) };
  };
  return mapSamples(samples, end - start, view, (labels) => labels.subarray(start, end));
}

/** Copies of `samples`' arrays, each in a buffer of its own (to transfer to a worker thread). */
export function copySamples(samples: Samples): Samples {
  return mapSamples(samples, samples.count, (t) => ({ ...t, data: t.data.slice() }), (labels) => labels.slice());
}

/** Every array buffer of `samples`. */
export function sampleBuffers(samples: Samples): ArrayBuffer[] {
  const tensors = [...samples.inputs, ...(samples.targets ?? [])];
  return [...tensors.map((t) => t.data.buffer as ArrayBuffer), ...(samples.labels ? [samples.labels.buffer as ArrayBuffer] : [])];
}

function mapSamples(
  samples: Samples,
  count: number,
  tensor: (t: SampleTensor) => SampleTensor,
  labels: (l: Int32Array) => Int32Array,
): Samples {
  return {
    count,
    inputs: samples.inputs.map(tensor),
    ...(samples.labels && { labels: labels(samples.labels), classes: samples.classes }),
    ...(samples.targets && { targets: samples.targets.map(tensor) }),
  };
}

/** A seed per (seed, epoch) pair, the epoch mixed in by a golden-ratio multiply. */
function epochSeed(seed: number, epoch: number): number {
  return (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
}
