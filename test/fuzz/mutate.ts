/**
 * Mutations of ONNX model bytes, as an attacker or a broken exporter would make them: bytes,
 * varints, lengths and chunks of the wire format, and structured edits of dims, data types,
 * tensor data, attributes, value types, nodes and versions that keep the protobuf well-formed.
 */
import Long from 'long';
import { ModelProto, bigIntToLong } from '../../src/onnx/schema.js';
import type { Rng } from '../../src/util/random.js';
import { concat, encodeVarint, mapWire, splice } from './wire.js';

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, one entry per mutation, to reproduce and to read a failure. */
  steps: string[];
}

/** Integers that sit on the edges of the types and checks a reader uses. */
const EDGES: bigint[] = [
  0n, 1n, -1n, 2n, 3n, 4n, 7n, 8n, 16n, 127n, 128n, 255n, 256n, 1000n, 32767n, 65535n, 65536n,
  2n ** 20n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 53n + 1n,
  2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n), -2n, -1000n,
];

const FLOAT_EDGES = [0, -0, 1, -1, 0.5, 1e-45, 3.4e38, Infinity, -Infinity, NaN, 1e10, -1e10];

/** Op types the op table knows, plus a few it does not: a renamed node exercises another rule. */
const OP_TYPES = [
  'Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Relu', 'Add', 'Mul', 'Concat', 'Split', 'Slice', 'Gather', 'Reshape',
  'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization',
  'LSTM', 'GRU', 'Pad', 'Resize', 'Softmax', 'ReduceMean', 'ReduceSum', 'Cast', 'Shape', 'Expand', 'Tile',
  'ConstantOfShape', 'Range', 'Where', 'Constant', 'Identity', 'TopK', 'Sigmoid', 'Clip', 'Dropout', 'Split', 'Loop',
  'NoSuchOp',
];

/** Attribute names the op table's rules read. */
const ATTRIBUTE_NAMES = [
  'group', 'strides', 'pads', 'dilations', 'kernel_shape', 'axis', 'axes', 'perm', 'hidden_size', 'direction', 'layout',
  'transA', 'transB', 'keepdims', 'ceil_mode', 'auto_pad', 'to', 'split', 'num_outputs', 'blocksize', 'output_shape',
  'output_padding', 'value', 'allowzero', 'start', 'end', 'epsilon', 'alpha', 'mode', 'spatial', 'batch_dims',
];

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function edge(rng: Rng): bigint {
  return rng.next() < 0.8 ? pick(rng, EDGES) : BigInt(rng.int(64)) - 8n;
}

type Mutation = (bytes: Uint8Array, rng: Rng) => { bytes: Uint8Array; step: string } | undefined;

// ---- Byte-level mutations ------------------------------------------------------------------

const flipBits: Mutation = (bytes, rng) => {
  const out = bytes.slice();
  const n = 1 + rng.int(8);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.int(out.length);
    out[p] ^= 1 << rng.int(8);
    at.push(p);
  }
  return { bytes: out, step: `flip bits at ${at.join(',')}` };
};

const setBytes: Mutation = (bytes, rng) => {
  const out = bytes.slice();
  const p = rng.int(out.length);
  const value = pick(rng, [0x00, 0xff, 0x7f, 0x80, 0x01, rng.int(256)]);
  out[p] = value;
  return { bytes: out, step: `byte ${p} = ${value}` };
};

const editVarint: Mutation = (bytes, rng) => {
  const { varints } = mapWire(bytes, ModelProto);
  if (!varints.length) return undefined;
  const span = pick(rng, varints);
  const value = edge(rng);
  const fix = rng.next() < 0.7;
  return { bytes: splice(bytes, span, encodeVarint(value), fix), step: `varint at ${span.start} = ${value}${fix ? '' : ' (lengths stale)'}` };
};

const editLength: Mutation = (bytes, rng) => {
  const { lengths } = mapWire(bytes, ModelProto);
  if (!lengths.length) return undefined;
  const span = pick(rng, lengths);
  const old = BigInt(span.contentEnd - span.end);
  const value = pick(rng, [old + 1n, old - 1n, old + BigInt(rng.int(16)), 0n, old * 2n, edge(rng)]);
  const fix = rng.next() < 0.5;
  return { bytes: splice(bytes, span, encodeVarint(value), fix), step: `length at ${span.start}: ${old} -> ${value}${fix ? ' (outer fixed)' : ''}` };
};

const truncate: Mutation = (bytes, rng) => {
  const at = rng.int(bytes.length);
  return { bytes: bytes.slice(0, at), step: `truncate at ${at}` };
};

function chunk(bytes: Uint8Array, rng: Rng): [number, number] {
  const start = rng.int(bytes.length);
  const length = 1 + rng.int(rng.next() < 0.7 ? 16 : 4096);
  return [start, Math.min(bytes.length, start + length)];
}

const deleteChunk: Mutation = (bytes, rng) => {
  const [a, b] = chunk(bytes, rng);
  return { bytes: concat(bytes.subarray(0, a), bytes.subarray(b)), step: `delete bytes ${a}..${b}` };
};

const duplicateChunk: Mutation = (bytes, rng) => {
  const [a, b] = chunk(bytes, rng);
  const at = rng.int(bytes.length + 1);
  return { bytes: concat(bytes.subarray(0, at), bytes.subarray(a, b), bytes.subarray(at)), step: `copy bytes ${a}..${b} to ${at}` };
};

const insertRandom: Mutation = (bytes, rng) => {
  const at = rng.int(bytes.length + 1);
  const junk = Uint8Array.from({ length: 1 + rng.int(12) }, () => rng.int(256));
  return { bytes: concat(bytes.subarray(0, at), junk, bytes.subarray(at)), step: `insert ${junk.length} random bytes at ${at}` };
};

/** Delete or duplicate one whole field, fixing the lengths around it. */
const editField: Mutation = (bytes, rng) => {
  const { fields } = mapWire(bytes, ModelProto);
  if (!fields.length) return undefined;
  const span = pick(rng, fields);
  const field = bytes.subarray(span.start, span.end);
  const twice = rng.next() < 0.5;
  const replacement = twice ? concat(field, field) : new Uint8Array(0);
  return { bytes: splice(bytes, span, replacement, true), step: `${twice ? 'duplicate' : 'delete'} field at ${span.start}..${span.end}` };
};

// ---- Structured mutations (decode, edit, encode) ---------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type Msg = Record<string, any>;

interface Parts {
  model: Msg;
  graphs: Msg[];
  nodes: Msg[];
  tensors: Msg[];
  attributes: Msg[];
  valueInfos: Msg[];
}

function parts(model: Msg): Parts {
  const p: Parts = { model, graphs: [], nodes: [], tensors: [], attributes: [], valueInfos: [] };
  const visitGraph = (g: Msg) => {
    p.graphs.push(g);
    p.tensors.push(...(g.initializer ?? []));
    p.valueInfos.push(...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? []));
    for (const n of g.node ?? []) {
      p.nodes.push(n);
      for (const a of n.attribute ?? []) {
        p.attributes.push(a);
        if (a.t) p.tensors.push(a.t);
        p.tensors.push(...(a.tensors ?? []));
        if (a.g) visitGraph(a.g);
        for (const sub of a.graphs ?? []) visitGraph(sub);
      }
    }
  };
  if (model.graph) visitGraph(model.graph);
  return p;
}

const long = (v: bigint) => bigIntToLong(v);

type Edit = (p: Parts, rng: Rng) => string | undefined;

const editDims: Edit = (p, rng) => {
  if (!p.tensors.length) return undefined;
  const t = pick(rng, p.tensors);
  const dims: Long[] = t.dims ?? [];
  const choice = rng.int(4);
  if (choice === 0 && dims.length) dims[rng.int(dims.length)] = long(edge(rng));
  else if (choice === 1) dims.splice(rng.int(dims.length + 1), 0, long(edge(rng)));
  else if (choice === 2 && dims.length) dims.splice(rng.int(dims.length), 1);
  else t.dims = dims.map(() => long(pick(rng, [0n, 1n, 2n ** 20n, 2n ** 31n, -1n])));
  if (choice !== 3) t.dims = dims;
  return `tensor '${t.name ?? ''}' dims = [${t.dims.map(String)}]`;
};

const editDataType: Edit = (p, rng) => {
  if (rng.next() < 0.6 && p.tensors.length) {
    const t = pick(rng, p.tensors);
    t.data_type = rng.int(27);
    return `tensor '${t.name ?? ''}' data_type = ${t.data_type}`;
  }
  const withType = p.valueInfos.filter((v) => v.type?.tensor_type);
  if (!withType.length) return undefined;
  const v = pick(rng, withType);
  v.type.tensor_type.elem_type = rng.int(27);
  return `value '${v.name ?? ''}' elem_type = ${v.type.tensor_type.elem_type}`;
};

/** Move a tensor's data to another storage field, with too few, too many or no values. */
const editTensorData: Edit = (p, rng) => {
  if (!p.tensors.length) return undefined;
  const t = pick(rng, p.tensors);
  const count = pick(rng, [0, 1, 2, 10, rng.int(100)]);
  for (const key of ['raw_data', 'float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data', 'string_data']) delete t[key];
  const field = pick(rng, ['none', 'raw_data', 'float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data', 'string_data']);
  const values = Array.from({ length: count }, () => rng.int(1000));
  if (field === 'raw_data') t.raw_data = Uint8Array.from({ length: count * pick(rng, [1, 2, 4, 8]) }, () => rng.int(256));
  else if (field === 'string_data') t.string_data = values.map((v) => new TextEncoder().encode(String(v)));
  else if (field === 'int64_data' || field === 'double_data' || field === 'uint64_data') t[field] = values.map((v) => long(BigInt(v)));
  else if (field !== 'none') t[field] = values;
  return `tensor '${t.name ?? ''}' data: ${count} values in ${field}`;
};

const editAttribute: Edit = (p, rng) => {
  const choice = rng.int(5);
  if (choice === 4 || !p.attributes.length) {
    if (!p.nodes.length) return undefined;
    const n = pick(rng, p.nodes);
    const name = pick(rng, ATTRIBUTE_NAMES);
    const list = rng.next() < 0.5;
    const attr = list
      ? { name, type: 7, ints: Array.from({ length: rng.int(6) }, () => long(edge(rng))) }
      : { name, type: 2, i: long(edge(rng)) };
    n.attribute = [...(n.attribute ?? []).filter((a: Msg) => a.name !== name), attr];
    return `node '${n.name ?? ''}' attribute ${name} = ${list ? `[${attr.ints!.map(String)}]` : String(attr.i)}`;
  }
  const a = pick(rng, p.attributes);
  if (choice === 0) {
    a.type = rng.int(16);
    return `attribute ${a.name} type = ${a.type}`;
  }
  if (choice === 1 && a.ints?.length) {
    a.ints[rng.int(a.ints.length)] = long(edge(rng));
    if (rng.next() < 0.3) a.ints.push(long(edge(rng)));
    return `attribute ${a.name} ints = [${a.ints.map(String)}]`;
  }
  if (choice === 1 && a.floats?.length) {
    a.floats[rng.int(a.floats.length)] = pick(rng, FLOAT_EDGES);
    return `attribute ${a.name} floats = [${a.floats}]`;
  }
  if (choice === 2 && a.type === 1) {
    a.f = pick(rng, FLOAT_EDGES);
    return `attribute ${a.name} f = ${a.f}`;
  }
  if (choice <= 2) {
    a.i = long(edge(rng));
    if (a.type === undefined || a.type === 0) a.type = 2;
    return `attribute ${a.name} i = ${a.i}`;
  }
  for (const key of ['f', 'i', 's', 't', 'g', 'floats', 'ints', 'strings', 'tensors', 'graphs']) delete a[key];
  return `attribute ${a.name} lost its value`;
};

const editShape: Edit = (p, rng) => {
  const shaped = p.valueInfos.filter((v) => v.type?.tensor_type?.shape?.dim?.length);
  if (!shaped.length) return undefined;
  const v = pick(rng, shaped);
  const dims: Msg[] = v.type.tensor_type.shape.dim;
  const choice = rng.int(3);
  if (choice === 0) dims[rng.int(dims.length)] = { dim_value: long(edge(rng)) };
  else if (choice === 1) dims.splice(rng.int(dims.length), 1);
  else dims.push({ dim_value: long(edge(rng)) });
  return `value '${v.name ?? ''}' dims = [${dims.map((d) => String(d.dim_value ?? d.dim_param))}]`;
};

const editNode: Edit = (p, rng) => {
  const g = pick(rng, p.graphs);
  const nodes: Msg[] = g.node ?? [];
  if (!nodes.length) return undefined;
  const at = rng.int(nodes.length);
  const n = nodes[at];
  switch (rng.int(6)) {
    case 0:
      n.op_type = pick(rng, OP_TYPES);
      return `node ${at} op_type = ${n.op_type}`;
    case 1:
      if (!n.input?.length) return undefined;
      n.input.splice(rng.int(n.input.length), 1);
      return `node ${at} lost an input`;
    case 2: {
      const names = nodes.flatMap((m) => m.output ?? []).concat((g.initializer ?? []).map((t: Msg) => t.name));
      if (!n.input?.length || !names.length) return undefined;
      n.input[rng.int(n.input.length)] = pick(rng, names);
      return `node ${at} reads another value`;
    }
    case 3:
      nodes.splice(at, 1);
      return `node ${at} deleted`;
    case 4:
      n.input = [...(n.input ?? []), pick(rng, ['', n.input?.[0] ?? 'x'])];
      return `node ${at} gained an input`;
    default:
      nodes.splice(rng.int(nodes.length + 1), 0, { ...n, output: (n.output ?? []).map((o: string) => `${o}_copy`) });
      return `node ${at} duplicated`;
  }
};

const editVersions: Edit = (p, rng) => {
  if (rng.next() < 0.5) {
    p.model.ir_version = long(pick(rng, [0n, 1n, 2n, 3n, 7n, 8n, 10n, 11n, 12n, edge(rng)]));
    return `ir_version = ${p.model.ir_version}`;
  }
  const version = pick(rng, [0n, 1n, 5n, 6n, 7n, 9n, 10n, 11n, 12n, 13n, 17n, 18n, 21n, 26n, 27n, edge(rng)]);
  p.model.opset_import = [{ domain: pick(rng, ['', '', 'ai.onnx', 'com.microsoft']), version: long(version) }];
  return `opset = ${version}`;
};

const STRUCTURED: Edit[] = [editDims, editDataType, editTensorData, editAttribute, editShape, editNode, editVersions];

/** One structured edit of a model that still decodes; undefined when it no longer does. */
const structured: Mutation = (bytes, rng) => {
  let model: Msg;
  try {
    model = ModelProto.decode(bytes) as unknown as Msg;
  } catch {
    return undefined;
  }
  const step = pick(rng, STRUCTURED)(parts(model), rng);
  if (!step) return undefined;
  return { bytes: ModelProto.encode(model).finish(), step };
};

const BYTE_LEVEL: Mutation[] = [flipBits, setBytes, editVarint, editVarint, editLength, truncate, deleteChunk, duplicateChunk, insertRandom, editField];

/** 1–3 mutations of `bytes`, half of them structured. */
export function mutate(bytes: Uint8Array, rng: Rng): Mutant {
  const steps: string[] = [];
  let current = bytes;
  const count = 1 + (rng.next() < 0.3 ? rng.int(3) : 0);
  for (let tries = 0; steps.length < count && tries < 10; tries++) {
    const mutation = rng.next() < 0.5 ? structured : pick(rng, BYTE_LEVEL);
    const result = current.length ? mutation(current, rng) : undefined;
    if (!result) continue;
    current = result.bytes;
    steps.push(result.step);
  }
  return { bytes: current, steps };
}
