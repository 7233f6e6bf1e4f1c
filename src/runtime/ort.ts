import ort from 'onnxruntime-node';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataType, NumericArray } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import { OtocError } from '../errors.js';
import { readTensorFile } from '../onnx/read.js';

/** onnxruntime's tensor type for each ONNX data type it can feed from JavaScript. */
const ORT_TYPES: Partial<Record<DataType, ort.Tensor.Type>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.UINT8]: 'uint8',
  [DataType.INT8]: 'int8',
  [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool',
  [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64',
  [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64',
};

const FROM_ORT = new Map(Object.entries(ORT_TYPES).map(([code, name]) => [name, Number(code) as DataType]));

export type Feeds = Record<string, Tensor>;

export function canFeed(type: DataType): boolean {
  return ORT_TYPES[type] !== undefined;
}

export function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dataType];
  if (!type) throw new OtocError(`onnxruntime-node cannot take a tensor of data type ${t.dataType} ('${t.name}')`);
  if (Array.isArray(t.data)) return new ort.Tensor('string', t.data.map((s) => Buffer.from(s).toString('utf8')), t.dims);
  return new ort.Tensor(type, t.data as never, t.dims);
}

export function fromOrt(name: string, t: ort.Tensor): Tensor {
  const dataType = FROM_ORT.get(t.type);
  if (dataType === undefined) throw new Error(`unexpected onnxruntime output type ${t.type} for '${name}'`);
  const data = t.type === 'string' ? (t.data as string[]).map((s) => Buffer.from(s, 'utf8')) : (t.data as NumericArray);
  return { name, dataType, dims: [...t.dims], data, storage: { kind: 'raw' } };
}

export interface SessionOptions {
  /** One thread makes runs bit-reproducible (reductions are not split across threads). */
  threads?: number;
}

/** Load a model in onnxruntime from bytes or a path (a path is needed for external data). */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const opts: ort.InferenceSession.SessionOptions = {
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  };
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
  } catch (e) {
    throw new OtocError(`onnxruntime cannot load the model: ${firstLine(e)}`, typeof model === 'string' ? model : undefined);
  }
}

/** Run a session on IR tensors and return its outputs as IR tensors, in output order. */
export async function runSession(session: ort.InferenceSession, feeds: Feeds): Promise<Tensor[]> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const t = feeds[name];
    if (!t) throw new OtocError(`no value given for model input '${name}'`);
    ortFeeds[name] = toOrt(t);
  }
  let results: ort.InferenceSession.OnnxValueMapType;
  try {
    results = await session.run(ortFeeds);
  } catch (e) {
    throw new OtocError(`onnxruntime failed to run the model: ${firstLine(e)}`);
  }
  return session.outputNames.map((name) => fromOrt(name, results[name] as ort.Tensor));
}

/**
 * Tensors of an ONNX test data folder (`input_0.pb`, `input_1.pb`, ... or `output_*.pb`),
 * in index order.
 */
export function readTestTensors(dir: string, prefix: 'input' | 'output'): Tensor[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new OtocError('test data folder not found', dir);
  }
  const files = names
    .map((f) => /^(input|output)_(\d+)\.pb$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === prefix)
    .sort((a, b) => Number(a[2]) - Number(b[2]));
  return files.map((m) => readTensorFile(join(dir, m[0])));
}

/** Map the test data inputs of `dir` to the session's input names (by position, as ONNX test data does). */
export function readTestFeeds(dir: string, inputNames: readonly string[]): Feeds {
  const tensors = readTestTensors(dir, 'input');
  if (tensors.length < inputNames.length) {
    throw new OtocError(`holds ${tensors.length} input tensors, the model needs ${inputNames.length}`, dir);
  }
  return Object.fromEntries(inputNames.map((name, i) => [name, tensors[i]]));
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
