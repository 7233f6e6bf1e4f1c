import type ort from 'onnxruntime-node';
import { sliceSamples, type SampleTensor, type Samples } from '../data/samples.js';
import { DataType, dataTypeInfo } from '../ir/dtype.js';
import { makeTensor, type Tensor } from '../ir/tensor.js';
import { floatDataOf } from '../ir/float-data.js';
import { runSession, type Feeds } from './ort.js';

/**
 * Top-1 accuracy of a classifier session on labeled `samples`, in onnxruntime (the first output
 * holds the scores), over the samples `runOverSamples` feeds it.
 */
export async function accuracy(session: ort.InferenceSession, samples: Samples, batch = 100): Promise<number> {
  const labels = samples.labels!;
  let correct = 0;
  let counted = 0;
  for await (const { start, count, outputs } of runOverSamples(session, samples, batch)) {
    correct += countTop1(outputs[0].data as Float32Array, count, (i) => labels[start + i]);
    counted += count;
  }
  return correct / counted;
}

/** How many of the `count` rows of `scores` have their largest value at `expected(row)`. */
export function countTop1(scores: ArrayLike<number>, count: number, expected: (row: number) => number): number {
  const classes = scores.length / count;
  let correct = 0;
  for (let i = 0; i < count; i++) if (argMax(scores, i * classes, classes) === expected(i)) correct++;
  return correct;
}

/** The index of the largest of the `length` values from `offset` (the first of equal ones). */
export function argMax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (values[offset + c] > values[offset + best]) best = c;
  return best;
}

/** A call's samples and the session's outputs on them, in output order. */
export interface SampleRun {
  start: number;
  count: number;
  outputs: Tensor[];
}

/**
 * Runs `session` over `samples`, `batch` at a time; a model whose file fixes the batch (exporters
 * write 1) runs that many per call, and samples left over from whole calls are not run.
 */
export async function* runOverSamples(session: ort.InferenceSession, samples: Samples, batch = 100): AsyncGenerator<SampleRun> {
  const fixed = callBatch(session);
  const perCall = fixed ?? batch;
  const end = fixed ? samples.count - (samples.count % fixed) : samples.count;
  for (let start = 0; start < end; start += perCall) {
    const count = Math.min(perCall, end - start);
    yield { start, count, outputs: await runSession(session, sampleFeeds(sliceSamples(samples, start, start + count))) };
  }
}

/** The batch size the session's file fixes on its first input, if it fixes one. */
export function callBatch(session: ort.InferenceSession): number | undefined {
  const declared = (session.inputMetadata[0] as { shape?: (number | string)[] }).shape?.[0];
  return typeof declared === 'number' && declared > 0 ? declared : undefined;
}

/** The model inputs of `samples`, as onnxruntime feeds [count, ...sampleDims] of the model's types. */
export function sampleFeeds(samples: Samples): Feeds {
  return Object.fromEntries(samples.inputs.map((t) => [t.name, feedTensor(t, samples.count)]));
}

function feedTensor(t: SampleTensor, count: number): Tensor {
  const dataType = t.dataType ?? (t.data instanceof Int32Array ? DataType.INT32 : DataType.FLOAT);
  const dims = [count, ...t.sampleDims];
  if (t.data instanceof Float32Array) return makeTensor(t.name, dataType, dims, dataType === DataType.FLOAT ? t.data : floatDataOf(t.data, dataType));
  const data = new (dataTypeInfo(dataType).array!)(t.data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) t.data.forEach((v, i) => (data[i] = BigInt(v)));
  else data.set(t.data);
  return makeTensor(t.name, dataType, dims, data);
}
