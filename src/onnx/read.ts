import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type protobuf from 'protobufjs';
import { OtocError, attributedTo } from '../errors.js';
import { noteFile } from '../io/run-files.js';
import { Attribute, Graph, Model, Node, RawProto, Value } from '../ir/graph.js';
import type { Dim, KeyValue, TypeInfo } from '../ir/types.js';
import { ModelProto, TensorProto, int64ToBigInt, int64ToNumber, type Int64 } from './schema.js';
import { ExternalDataFiles } from './external-data.js';
import { TensorMsg, TensorSources, decodeTensor, has } from './tensor-codec.js';
import { checkWireFormat } from './wire-check.js';

interface ModelMsg {
  ir_version?: Int64;
  opset_import?: { domain?: string; version?: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphMsg;
  metadata_props?: KeyValue[];
  training_info?: RawProto[];
  functions?: RawProto[];
  configuration?: RawProto[];
}

export interface GraphMsg {
  node?: NodeMsg[];
  name?: string;
  initializer?: TensorMsg[];
  sparse_initializer?: RawProto[];
  doc_string?: string;
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
  value_info?: ValueInfoMsg[];
  quantization_annotation?: RawProto[];
  metadata_props?: KeyValue[];
}

export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeMsg[];
  doc_string?: string;
  metadata_props?: KeyValue[];
  device_configurations?: RawProto[];
}

export interface AttributeMsg {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorMsg;
  g?: GraphMsg;
  sparse_tensor?: RawProto;
  tp?: TypeMsg;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorMsg[];
  graphs?: GraphMsg[];
  sparse_tensors?: RawProto[];
  type_protos?: TypeMsg[];
}

export interface ValueInfoMsg {
  name?: string;
  type?: TypeMsg;
  doc_string?: string;
  metadata_props?: KeyValue[];
}

interface ShapeMsg {
  dim?: { dim_value?: Int64; dim_param?: string; denotation?: string }[];
}

export interface TypeMsg {
  tensor_type?: { elem_type?: number; shape?: ShapeMsg };
  sparse_tensor_type?: { elem_type?: number; shape?: ShapeMsg };
  sequence_type?: { elem_type?: TypeMsg };
  map_type?: { key_type?: number; value_type?: TypeMsg };
  optional_type?: { elem_type?: TypeMsg };
  denotation?: string;
}

/** AttributeProto.AttributeType codes, in the IR's names. */
export const ATTRIBUTE_TYPES: Record<number, Attribute['type']> = {
  0: 'undefined',
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  11: 'sparse_tensor',
  13: 'type_proto',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  12: 'sparse_tensors',
  14: 'type_protos',
};

export interface ReadOptions {
  /** Folder that external-data locations are relative to (the model file's folder). */
  baseDir?: string;
  /**
   * The caller hands `bytes` over to the model and does not read them again: misaligned
   * raw_data is then moved in place, a few bytes back, rather than copied.
   */
  ownsBytes?: boolean;
}

/** Read and decode an ONNX model file. Errors are OtocErrors naming `path`. */
export function readModel(path: string): Model {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new OtocError('is a directory, not an ONNX file', path);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof OtocError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(e)})`, path);
  }
  noteFile(path, 'model');
  try {
    return decodeModel(bytes, { baseDir: dirname(resolve(path)), ownsBytes: true });
  } catch (e) {
    if (e instanceof OtocError) throw e.inFile(path);
    throw e;
  }
}

/**
 * Decode ONNX model bytes into the IR. Initializers are copies, so that the bytes stay as they
 * are when the model is changed in place; with `ownsBytes` they are views of `bytes` (raw_data
 * misaligned for its element type moved into alignment), as readModel reads a file.
 */
export function decodeModel(bytes: Uint8Array, options: ReadOptions = {}): Model {
  if (bytes.byteLength === 0) throw new OtocError('file is empty, not an ONNX model');
  const msg = decodeMessage<ModelMsg>(bytes, ModelProto, 'an ONNX model');
  if (!msg.graph || !has(msg, 'ir_version')) {
    throw new OtocError(`not an ONNX model: no ${msg.graph ? 'ir_version' : 'graph'} field`);
  }
  const externalData = new ExternalDataFiles(options.baseDir);
  const sources: TensorSources = { readExternal: externalData.read, ownsBytes: options.ownsBytes ?? false };
  let graph: Graph;
  try {
    graph = decodeGraph(msg.graph, undefined, sources);
  } finally {
    externalData.close();
  }
  const model = new Model(graph);
  model.irVersion = int64ToNumber(msg.ir_version);
  model.opsetImports = (msg.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: int64ToNumber(o.version) }));
  if (has(msg, 'producer_name')) model.producerName = msg.producer_name;
  if (has(msg, 'producer_version')) model.producerVersion = msg.producer_version;
  if (has(msg, 'domain')) model.domain = msg.domain;
  if (has(msg, 'model_version')) model.modelVersion = int64ToBigInt(msg.model_version);
  if (has(msg, 'doc_string')) model.docString = msg.doc_string;
  if (msg.metadata_props?.length) model.metadataProps = kvList(msg.metadata_props);
  model.trainingInfo = msg.training_info ?? [];
  model.functions = msg.functions ?? [];
  model.configuration = msg.configuration ?? [];
  return model;
}

/**
 * Decode `bytes` as protobuf message `type` once the wire format is checked: any failure is
 * an input error that says what the file is not (`what`), never an exception of protobufjs.
 */
function decodeMessage<T>(bytes: Uint8Array, type: protobuf.Type, what: string): T {
  try {
    checkWireFormat(bytes, type);
    return type.decode(bytes) as unknown as T;
  } catch (e) {
    if (looksLikeText(bytes)) throw new OtocError(`not ${what}: it is a text file, and ONNX files are binary protobuf`);
    if (e instanceof OtocError) throw e;
    throw new OtocError(`not ${what}: protobuf decoding failed (${(e as Error)?.message ?? e})`);
  }
}

/** Whether the file starts with printable UTF-8 text (a protobuf starts with binary field tags and lengths). */
function looksLikeText(bytes: Uint8Array): boolean {
  let head: string;
  try {
    head = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, 512), { stream: true });
  } catch {
    return false;
  }
  return !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(head);
}

/** Decode one TensorProto file (ONNX test data `input_0.pb`). */
export function readTensorFile(path: string): ReturnType<typeof decodeTensor> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`, path);
  }
  return attributedTo(path, () => {
    const msg = decodeMessage<TensorMsg>(bytes, TensorProto, 'an ONNX TensorProto file');
    const externalData = new ExternalDataFiles(dirname(resolve(path)));
    try {
      return decodeTensor(msg, { readExternal: externalData.read, ownsBytes: true });
    } finally {
      externalData.close();
    }
  });
}

function decodeGraph(msg: GraphMsg, parent: Graph | undefined, sources: TensorSources): Graph {
  const graph = new Graph(parent);
  graph.name = msg.name ?? '';
  if (has(msg, 'doc_string')) graph.docString = msg.doc_string;
  if (msg.metadata_props?.length) graph.metadataProps = kvList(msg.metadata_props);
  graph.sparseInitializers = msg.sparse_initializer ?? [];
  graph.quantizationAnnotation = msg.quantization_annotation ?? [];

  // Values this graph defines come first, so that subgraphs can resolve outer-scope names.
  for (const t of msg.initializer ?? []) {
    const v = graph.ensureValue(t.name ?? '');
    if (v.constant) throw new OtocError(`initializer '${v.name}' is defined twice`);
    graph.addInitializer(v, decodeTensor(t, sources));
  }
  graph.inputs = (msg.input ?? []).map((vi) => withInfo(graph.ensureValue(vi.name ?? ''), vi));
  for (const n of msg.node ?? []) for (const o of n.output ?? []) if (o) graph.ensureValue(o);

  for (const n of msg.node ?? []) graph.nodes.push(decodeNode(n, graph, sources));
  graph.outputs = (msg.output ?? []).map((vi) => withInfo(resolveName(graph, vi.name ?? ''), vi));
  graph.valueInfo = (msg.value_info ?? []).map((vi) => withInfo(resolveName(graph, vi.name ?? ''), vi));
  return graph;
}

/** A name used in `graph`: its own value, an enclosing graph's, or a new undefined one (validation reports it). */
function resolveName(graph: Graph, name: string): Value {
  return graph.lookup(name) ?? graph.ensureValue(name);
}

function withInfo(v: Value, vi: ValueInfoMsg): Value {
  const type = vi.type ? decodeType(vi.type) : undefined;
  const info = {
    ...(has(vi, 'doc_string') ? { docString: vi.doc_string } : {}),
    ...(vi.metadata_props?.length ? { metadataProps: kvList(vi.metadata_props) } : {}),
  };
  if (v.type !== undefined || v.info !== undefined) {
    const same = JSON.stringify([v.type, v.info ?? {}]) === JSON.stringify([type, info]);
    if (!same) throw new OtocError(`value '${v.name}' has two different type declarations`);
    return v;
  }
  v.type = type;
  if (Object.keys(info).length) v.info = info;
  return v;
}

function decodeNode(msg: NodeMsg, graph: Graph, sources: TensorSources): Node {
  const node = new Node(msg.op_type ?? '', graph);
  node.name = msg.name ?? '';
  node.domain = msg.domain ?? '';
  if (has(msg, 'overload')) node.overload = msg.overload;
  if (has(msg, 'doc_string')) node.docString = msg.doc_string;
  if (msg.metadata_props?.length) node.metadataProps = kvList(msg.metadata_props);
  if (msg.device_configurations?.length) node.deviceConfigurations = msg.device_configurations;
  (msg.input ?? []).forEach((name, i) => node.setInput(i, name ? resolveName(graph, name) : null));
  (msg.output ?? []).forEach((name, i) => node.setOutput(i, name ? graph.ensureValue(name) : null));
  for (const a of msg.attribute ?? []) {
    const attr = decodeAttribute(a, graph, sources);
    if (node.attributes.has(attr.name)) {
      throw new OtocError(`node ${node.label()} has attribute '${attr.name}' twice`);
    }
    node.attributes.set(attr.name, attr);
  }
  return node;
}

function decodeAttribute(msg: AttributeMsg, graph: Graph, sources: TensorSources): Attribute {
  const name = msg.name ?? '';
  const type = msg.type !== undefined && msg.type !== 0 ? ATTRIBUTE_TYPES[msg.type] : inferAttributeType(msg);
  if (!type) throw new OtocError(`attribute '${name}' has unsupported type ${msg.type}`);
  const common = {
    name,
    ...(has(msg, 'doc_string') ? { docString: msg.doc_string } : {}),
    ...(has(msg, 'ref_attr_name') ? { refAttrName: msg.ref_attr_name } : {}),
  };
  const sub = (g: GraphMsg) => decodeGraph(g, graph, sources);
  switch (type) {
    case 'float':
      return { ...common, type, value: msg.f ?? 0 };
    case 'int':
      return { ...common, type, value: int64ToBigInt(msg.i) };
    case 'string':
      return { ...common, type, value: msg.s ?? new Uint8Array(0) };
    case 'tensor':
      return { ...common, type, value: decodeTensor(msg.t ?? {}, sources) };
    case 'graph':
      return { ...common, type, value: sub(msg.g ?? {}) };
    case 'sparse_tensor':
      return { ...common, type, value: msg.sparse_tensor ?? {} };
    case 'type_proto':
      return { ...common, type, value: decodeType(msg.tp ?? {}) };
    case 'floats':
      return { ...common, type, value: [...(msg.floats ?? [])] };
    case 'ints':
      return { ...common, type, value: (msg.ints ?? []).map(int64ToBigInt) };
    case 'strings':
      return { ...common, type, value: [...(msg.strings ?? [])] };
    case 'tensors':
      return { ...common, type, value: (msg.tensors ?? []).map((t) => decodeTensor(t, sources)) };
    case 'graphs':
      return { ...common, type, value: (msg.graphs ?? []).map(sub) };
    case 'sparse_tensors':
      return { ...common, type, value: msg.sparse_tensors ?? [] };
    case 'type_protos':
      return { ...common, type, value: (msg.type_protos ?? []).map(decodeType) };
    case 'undefined':
      return { ...common, type, value: null };
  }
}

/** IR version 1–2 files may omit the attribute type: take it from the field that is set. */
function inferAttributeType(msg: AttributeMsg): Attribute['type'] | undefined {
  if (has(msg, 'ref_attr_name') && msg.type === 0) return 'undefined';
  const singles: [keyof AttributeMsg, Attribute['type']][] = [
    ['f', 'float'],
    ['i', 'int'],
    ['s', 'string'],
    ['t', 'tensor'],
    ['g', 'graph'],
    ['sparse_tensor', 'sparse_tensor'],
    ['tp', 'type_proto'],
  ];
  for (const [field, type] of singles) if (has(msg, field)) return type;
  const lists: [keyof AttributeMsg, Attribute['type']][] = [
    ['floats', 'floats'],
    ['ints', 'ints'],
    ['strings', 'strings'],
    ['tensors', 'tensors'],
    ['graphs', 'graphs'],
    ['sparse_tensors', 'sparse_tensors'],
    ['type_protos', 'type_protos'],
  ];
  for (const [field, type] of lists) if ((msg[field] as unknown[] | undefined)?.length) return type;
  return msg.type === 0 ? 'undefined' : undefined;
}

export function decodeType(msg: TypeMsg): TypeInfo {
  const denotation = has(msg, 'denotation') ? { denotation: msg.denotation } : {};
  if (msg.tensor_type) {
    const t = msg.tensor_type;
    return { ...denotation, kind: 'tensor', elemType: t.elem_type ?? 0, ...(t.shape ? { shape: decodeDims(t.shape) } : {}) };
  }
  if (msg.sparse_tensor_type) {
    const t = msg.sparse_tensor_type;
    return {
      ...denotation,
      kind: 'sparse_tensor',
      elemType: t.elem_type ?? 0,
      ...(t.shape ? { shape: decodeDims(t.shape) } : {}),
    };
  }
  if (msg.sequence_type) return { ...denotation, kind: 'sequence', ...optType('elem', msg.sequence_type.elem_type) };
  if (msg.optional_type) return { ...denotation, kind: 'optional', ...optType('elem', msg.optional_type.elem_type) };
  if (msg.map_type) {
    return { ...denotation, kind: 'map', keyType: msg.map_type.key_type ?? 0, ...optType('value', msg.map_type.value_type) };
  }
  return { ...denotation, kind: 'none' };
}

function optType<K extends string>(key: K, msg: TypeMsg | undefined): { [k in K]?: TypeInfo } {
  return (msg ? { [key]: decodeType(msg) } : {}) as { [k in K]?: TypeInfo };
}

function decodeDims(shape: ShapeMsg): Dim[] {
  return (shape.dim ?? []).map((d) => {
    const dim: Dim = {};
    if (has(d, 'dim_value')) dim.value = int64ToNumber(d.dim_value);
    if (has(d, 'dim_param')) dim.param = d.dim_param;
    if (has(d, 'denotation')) dim.denotation = d.denotation;
    return dim;
  });
}

function kvList(entries: KeyValue[]): KeyValue[] {
  return entries.map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
}
