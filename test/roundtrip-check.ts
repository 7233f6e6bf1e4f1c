import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { OtocError } from '../src/errors.js';
import { dataTypeName } from '../src/ir/dtype.js';
import { diffModels } from '../src/ir/compare.js';
import type { Graph, Model, RawProto, Value } from '../src/ir/graph.js';
import { Tensor, dataBytes } from '../src/ir/tensor.js';
import type { TypeInfo } from '../src/ir/types.js';
import { readModel } from '../src/onnx/read.js';
import { ModelProto } from '../src/onnx/schema.js';
import { writeModel } from '../src/onnx/write.js';
import { Feeds, canFeed, createSession, readTestFeeds, runSession } from '../src/runtime/ort.js';

// Models that onnxruntime cannot load are expected here (and reported by the tests), so its
// own log lines would only be noise.
ort.env.logLevel = 'fatal';

/** A model file read by otoc, written back with `writeModel`, and read again. */
export interface RoundTrip {
  original: Model;
  originalBytes: Uint8Array;
  written: Model;
  writtenBytes: Uint8Array;
}

export function roundTripFile(modelPath: string, outPath: string): RoundTrip {
  // A copy of its own, since readModel may move tensor data around inside the bytes it reads.
  const originalBytes = readFileSync(modelPath);
  const original = readModel(modelPath);
  writeModel(original, outPath);
  return { original, originalBytes, written: readModel(outPath), writtenBytes: readFileSync(outPath) };
}

/**
 * Why the round trip is not lossless, or null. Two checks: the IRs are equal, and the two
 * files decode to the same protobuf messages field by field. The second one does not go
 * through the IR, so it also catches a schema field the reader ignores.
 */
export function roundTripDifference(rt: RoundTrip): string | null {
  const ir = diffModels(rt.original, rt.written);
  if (ir) return `IR differs at ${ir}`;
  const proto = protoDifference(rt.originalBytes, rt.writtenBytes);
  return proto && `protobuf messages differ at ${proto}`;
}

/** Decoded messages as plain objects: 64-bit integers as decimal strings, bytes left as bytes. */
const TO_PLAIN = { longs: String, enums: Number, defaults: false, arrays: false } as const;

/**
 * First difference between two ModelProto encodings as decoded messages. A string field set
 * to "" counts as absent: ONNX gives both the same meaning, and the writer omits empty names
 * and domains.
 */
export function protoDifference(a: Uint8Array, b: Uint8Array): string | null {
  const plain = (bytes: Uint8Array) => withoutEmptyStrings(ModelProto.toObject(ModelProto.decode(bytes), TO_PLAIN));
  return firstDifference(plain(a), plain(b), 'model');
}

function withoutEmptyStrings(x: unknown): unknown {
  // Bytes fields become Buffers (no copy), so that deep equality compares them natively.
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (Array.isArray(x)) return x.map(withoutEmptyStrings);
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) if (v !== '') out[k] = withoutEmptyStrings(v);
  return out;
}

function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return `${path}: bytes differ`;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${JSON.stringify(a)?.slice(0, 60)} != ${JSON.stringify(b)?.slice(0, 60)}`;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
    const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
    if (d) return d;
  }
  return `${path}: differs`;
}

/** The `test_data_set_*` folders beside a model, in name order. */
export function testDataSets(modelDir: string): string[] {
  return readdirSync(modelDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('test_data_set_'))
    .map((e) => join(modelDir, e.name))
    .sort();
}

/**
 * Feeds of every test-data folder, for a model with these input names. Read them once and
 * give the same tensors to both models: onnxruntime reads input tensors in place, and its
 * vectorized reductions round differently when a buffer's address is differently aligned,
 * so two separately read copies of one input can give outputs that differ in the last bit.
 */
export function readTestDataFeeds(dirs: string[], inputNames: readonly string[]): Feeds[] {
  return dirs.map((dir) => readTestFeeds(dir, inputNames));
}

/**
 * A single-threaded onnxruntime session (bit-reproducible), or the reason it cannot load.
 * `model` is the file's bytes, or its path when it has external data.
 */
export async function loadSession(
  model: Uint8Array | string,
): Promise<{ session: ort.InferenceSession } | { error: string }> {
  try {
    return { session: await createSession(model, { threads: 1 }) };
  } catch (e) {
    if (e instanceof OtocError) return { error: e.message };
    throw e;
  }
}

/** Run the session once per feed set, then release it. */
export async function runAndRelease(session: ort.InferenceSession, feeds: Feeds[]): Promise<Tensor[][]> {
  try {
    const results: Tensor[][] = [];
    for (const set of feeds) results.push(await runSession(session, set));
    return results;
  } finally {
    await session.release();
  }
}

/** Outputs of a model (bytes or path) in a fresh single-threaded session; it must load. */
export async function runModel(model: Uint8Array | string, feeds: Feeds[]): Promise<Tensor[][]> {
  const loaded = await loadSession(model);
  if ('error' in loaded) throw new Error(loaded.error);
  return runAndRelease(loaded.session, feeds);
}

/** Whether onnxruntime produced the same bits for both models, or the first output that differs. */
export function outputDifference(a: Tensor[][], b: Tensor[][]): string | null {
  if (a.length !== b.length) return `${a.length} vs ${b.length} runs`;
  for (let run = 0; run < a.length; run++) {
    if (a[run].length !== b[run].length) return `run ${run}: ${a[run].length} vs ${b[run].length} outputs`;
    for (let i = 0; i < a[run].length; i++) {
      const d = tensorBitDifference(a[run][i], b[run][i]);
      if (d) return `run ${run}, output '${a[run][i].name}': ${d}`;
    }
  }
  return null;
}

/** Tensors compared as bytes, so NaN payloads and signed zeros count too. */
function tensorBitDifference(a: Tensor, b: Tensor): string | null {
  if (a.dataType !== b.dataType) return `type ${dataTypeName(a.dataType)} vs ${dataTypeName(b.dataType)}`;
  if (!isDeepStrictEqual(a.dims, b.dims)) return `dims [${a.dims}] vs [${b.dims}]`;
  return Buffer.compare(tensorBytes(a), tensorBytes(b)) === 0 ? null : 'data differs';
}

/** The bytes of a tensor's data; strings are length-prefixed so that their boundaries count. */
export function tensorBytes(t: Tensor): Uint8Array {
  if (!Array.isArray(t.data)) return dataBytes(t.data);
  return Buffer.concat(t.data.flatMap((s) => [Buffer.from(`${s.byteLength}:`), s]));
}

/** Ops whose outputs are random draws, so two runs cannot be compared. */
const RANDOM_OPS = new Set([
  'Bernoulli',
  'Multinomial',
  'RandomNormal',
  'RandomNormalLike',
  'RandomUniform',
  'RandomUniformLike',
]);

/**
 * Why the model's outputs are not reproducible, or null: a random op, or a Dropout in
 * training mode (its training_mode input is not the constant false), anywhere in the model.
 */
export function nondeterminism(model: Model): string | null {
  for (const graph of allGraphs(model.graph)) {
    for (const node of graph.nodes) {
      if (RANDOM_OPS.has(node.opType)) return `${node.opType} op`;
      if (node.opType === 'Dropout') {
        const mode = node.input(2);
        if (mode && !isConstantFalse(mode.constant)) return 'Dropout in training mode';
      }
    }
  }
  for (const opType of functionOpTypes(model.functions)) if (RANDOM_OPS.has(opType)) return `${opType} op in a function`;
  return null;
}

function isConstantFalse(t: Tensor | undefined): boolean {
  return t !== undefined && !Array.isArray(t.data) && t.data.length === 1 && !t.data[0];
}

function* allGraphs(graph: Graph): Generator<Graph> {
  yield graph;
  for (const node of graph.nodes) for (const sub of node.subgraphs()) yield* allGraphs(sub);
}

function functionOpTypes(functions: RawProto[]): string[] {
  return functions.flatMap((f) => ((f.node ?? []) as { op_type?: string }[]).map((n) => n.op_type ?? ''));
}

/** Graph inputs that a caller feeds: those without an initializer (IR < 4 lists initializers as inputs). */
export function fedInputNames(model: Model): string[] {
  return fedInputs(model).map((v) => v.name);
}

function fedInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => !v.isConstant);
}

/**
 * Why onnxruntime-node's JavaScript API cannot feed the model's inputs or take its outputs,
 * or null: a value that is not a tensor (sequence, optional, map), or a tensor of a data type
 * it has no JavaScript type for.
 */
export function unfeedable(model: Model): string | null {
  for (const [role, values] of [['input', fedInputs(model)], ['output', model.graph.outputs]] as const) {
    for (const v of values) {
      const why = v.type ? unfeedableType(v.type) : 'no type';
      if (why) return `${role} '${v.name}': ${why}`;
    }
  }
  return null;
}

function unfeedableType(type: TypeInfo): string | null {
  if (type.kind !== 'tensor') return `${type.kind.replace('_', ' ')} type, not a tensor`;
  return canFeed(type.elemType) ? null : `data type ${dataTypeName(type.elemType)}`;
}

/** Every folder under `root/<category>/` that holds a model.onnx. */
export function modelsUnder(root: string): { category: string; name: string; dir: string }[] {
  return readdirSync(root)
    .sort()
    .flatMap((category) =>
      readdirSync(join(root, category))
        .sort()
        .filter((name) => existsSync(join(root, category, name, 'model.onnx')))
        .map((name) => ({ category, name, dir: join(root, category, name) })),
    );
}

const IR_VERSION_FIELD = ModelProto.fields.ir_version.id;

/** ir_version of a ModelProto, read from the wire without decoding the graph. */
export function irVersionOf(bytes: Uint8Array): number | undefined {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === IR_VERSION_FIELD && (tag & 7) === 0) return Number(reader.int64().toString());
    reader.skipType(tag & 7);
  }
  return undefined;
}
