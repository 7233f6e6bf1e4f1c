import { basename, dirname, join } from 'node:path';
import type protobuf from 'protobufjs';
import { OtocError } from '../errors.js';
import { Attribute, Graph, Model, Node, Value } from '../ir/graph.js';
import type { Dim, TypeInfo } from '../ir/types.js';
import { writeFilesAtomically } from '../io/atomic.js';
import { isUsed, noteFile } from '../io/run-files.js';
import { ModelProto, bigIntToLong } from './schema.js';
import { ExternalSink, TensorMsg, encodeTensor } from './tensor-codec.js';
import { finishInChunks } from './writer-chunks.js';
import { ATTRIBUTE_TYPES, AttributeMsg, GraphMsg, NodeMsg, TypeMsg, ValueInfoMsg } from './read.js';

const TYPE_CODES = Object.fromEntries(Object.entries(ATTRIBUTE_TYPES).map(([code, name]) => [name, Number(code)]));

/** Bytes of external-data files, by location relative to the model file. */
export type ExternalFiles = Map<string, Uint8Array[]>;

export interface Encoded {
  model: Uint8Array;
  external: ExternalFiles;
}

/** External-data tensors are padded to this alignment so that reading them back needs no copy. */
const EXTERNAL_ALIGN = 16;

export function encodeModel(model: Model): Encoded {
  const { writer, external } = encodeToWriter(model);
  return { model: writer.finish(), external };
}

/**
 * Serialize `model` to `path`, atomically. Its external-data tensors all go to one file beside
 * it, named after it (`small.onnx.data`, as onnx.save_model names it), whatever locations they
 * were read from: so an output never writes into a folder other than its own, nor over the
 * data file of the model it was made from (see dataFileFor).
 */
export function writeModel(model: Model, path: string): void {
  const dataFile = dataFileFor(path);
  const { writer, external } = encodeToWriter(model, dataFile);
  // The data file is renamed into place before the model that refers to it.
  const dataFiles: [string, Uint8Array[]][] = [...external].map(([name, chunks]) => [join(dirname(path), name), chunks]);
  try {
    writeFilesAtomically([...dataFiles, [path, finishInChunks(writer)]]);
  } catch (e) {
    // The user named the model, not its data file: the error is about the model.
    const failedData = e instanceof OtocError && dataFiles.find(([file]) => file === e.file);
    if (failedData) throw new OtocError(`${e.message}, writing its external data file ${basename(failedData[0])}`, path);
    throw e;
  }
  for (const [written] of dataFiles) noteFile(written, 'output data');
  noteFile(path, 'output model');
}

/**
 * The name of the data file for the model at `path`: `<name>.data`, or `<name>.1.data`, ... when
 * this run has read or written that file already (rewriting a model in place, say, leaves its
 * old data file intact until the new model, which names the other one, has replaced it).
 */
function dataFileFor(path: string): string {
  const name = basename(path);
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? `${name}.data` : `${name}.${i}.data`;
    if (!isUsed(join(dirname(path), candidate))) return candidate;
  }
}

/** A protobuf message (an ONNX file without external data) is under 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/**
 * Moves the external-data tensors of `model`'s graph into the model itself, so that it
 * serializes to one buffer, as the compression pipeline passes models between its steps, to
 * worker threads and to onnxruntime. Refuses a model too large for that.
 */
export function inlineExternalData(model: Model): void {
  const external = model.graph.initializers.filter((v) => v.constant?.storage.kind === 'external');
  if (!external.length) return;
  const bytes = external.reduce((a, v) => a + (v.constant!.data as { byteLength: number }).byteLength, 0);
  if (bytes + encodeModel(model).model.byteLength > PROTOBUF_LIMIT) {
    throw new OtocError(`the model holds ${bytes} bytes of external data: training needs it in one protobuf message, under 2 GiB`);
  }
  for (const v of external) v.constant = { ...v.constant!, storage: { kind: 'raw' } };
}

/**
 * The model's protobuf encoding, not yet finished into bytes, and its external-data files: every
 * external tensor in `dataFile` when given, else in the file it was read from.
 */
function encodeToWriter(model: Model, dataFile?: string): { writer: protobuf.Writer; external: ExternalFiles } {
  const external: ExternalFiles = new Map();
  const sizes = new Map<string, number>();
  const sink: ExternalSink = {
    put(tensorLocation, bytes) {
      const location = dataFile ?? tensorLocation;
      const chunks = external.get(location) ?? [];
      let offset = sizes.get(location) ?? 0;
      const pad = (EXTERNAL_ALIGN - (offset % EXTERNAL_ALIGN)) % EXTERNAL_ALIGN;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(bytes);
      external.set(location, chunks);
      sizes.set(location, offset + bytes.byteLength);
      return { location, offset };
    },
  };
  const msg = {
    ir_version: bigIntToLong(BigInt(model.irVersion)),
    opset_import: model.opsetImports.map((o) => ({ domain: o.domain, version: bigIntToLong(BigInt(o.version)) })),
    ...optional('producer_name', model.producerName),
    ...optional('producer_version', model.producerVersion),
    ...optional('domain', model.domain),
    ...optional('model_version', model.modelVersion === undefined ? undefined : bigIntToLong(model.modelVersion)),
    ...optional('doc_string', model.docString),
    graph: encodeGraph(model.graph, sink),
    metadata_props: model.metadataProps ?? [],
    training_info: model.trainingInfo,
    functions: model.functions,
    configuration: model.configuration,
  };
  return { writer: ModelProto.encode(msg), external };
}

function encodeGraph(g: Graph, sink: ExternalSink): GraphMsg {
  return {
    node: g.nodes.map((n) => encodeNode(n, sink)),
    name: g.name,
    initializer: g.initializers.map((v) => encodeTensor({ ...v.constant!, name: v.name }, sink)),
    sparse_initializer: g.sparseInitializers,
    ...optional('doc_string', g.docString),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    value_info: g.valueInfo.map(encodeValueInfo),
    quantization_annotation: g.quantizationAnnotation,
    metadata_props: g.metadataProps ?? [],
  };
}

function encodeValueInfo(v: Value): ValueInfoMsg {
  return {
    name: v.name,
    ...(v.type ? { type: encodeType(v.type) } : {}),
    ...optional('doc_string', v.info?.docString),
    metadata_props: v.info?.metadataProps ?? [],
  };
}

function encodeNode(n: Node, sink: ExternalSink): NodeMsg {
  return {
    input: n.inputs.map((v) => v?.name ?? ''),
    output: n.outputs.map((v) => v?.name ?? ''),
    ...(n.name ? { name: n.name } : {}),
    op_type: n.opType,
    ...(n.domain ? { domain: n.domain } : {}),
    ...optional('overload', n.overload),
    attribute: [...n.attributes.values()].map((a) => encodeAttribute(a, sink)),
    ...optional('doc_string', n.docString),
    metadata_props: n.metadataProps ?? [],
    device_configurations: n.deviceConfigurations ?? [],
  };
}

function encodeAttribute(a: Attribute, sink: ExternalSink): AttributeMsg {
  const msg: AttributeMsg = { name: a.name, type: TYPE_CODES[a.type] };
  if (a.docString !== undefined) msg.doc_string = a.docString;
  if (a.refAttrName !== undefined) msg.ref_attr_name = a.refAttrName;
  const tensor = (t: typeof a.value & object) => encodeTensor(t as never, sink) as TensorMsg;
  switch (a.type) {
    case 'float':
      msg.f = a.value;
      break;
    case 'int':
      msg.i = bigIntToLong(a.value);
      break;
    case 'string':
      msg.s = a.value;
      break;
    case 'tensor':
      msg.t = tensor(a.value);
      break;
    case 'graph':
      msg.g = encodeGraph(a.value, sink);
      break;
    case 'sparse_tensor':
      msg.sparse_tensor = a.value;
      break;
    case 'type_proto':
      msg.tp = encodeType(a.value);
      break;
    case 'floats':
      msg.floats = a.value;
      break;
    case 'ints':
      msg.ints = a.value.map((v) => bigIntToLong(v));
      break;
    case 'strings':
      msg.strings = a.value;
      break;
    case 'tensors':
      msg.tensors = a.value.map(tensor);
      break;
    case 'graphs':
      msg.graphs = a.value.map((g) => encodeGraph(g, sink));
      break;
    case 'sparse_tensors':
      msg.sparse_tensors = a.value;
      break;
    case 'type_protos':
      msg.type_protos = a.value.map(encodeType);
      break;
    case 'undefined':
      break;
  }
  return msg;
}

export function encodeType(t: TypeInfo): TypeMsg {
  const base: TypeMsg = t.denotation !== undefined ? { denotation: t.denotation } : {};
  switch (t.kind) {
    case 'tensor':
      return { ...base, tensor_type: { elem_type: t.elemType, ...(t.shape ? { shape: { dim: t.shape.map(encodeDim) } } : {}) } };
    case 'sparse_tensor':
      return {
        ...base,
        sparse_tensor_type: { elem_type: t.elemType, ...(t.shape ? { shape: { dim: t.shape.map(encodeDim) } } : {}) },
      };
    case 'sequence':
      return { ...base, sequence_type: t.elem ? { elem_type: encodeType(t.elem) } : {} };
    case 'optional':
      return { ...base, optional_type: t.elem ? { elem_type: encodeType(t.elem) } : {} };
    case 'map':
      return { ...base, map_type: { key_type: t.keyType, ...(t.value ? { value_type: encodeType(t.value) } : {}) } };
    case 'none':
      return base;
  }
}

function encodeDim(d: Dim) {
  return {
    ...(d.value !== undefined ? { dim_value: bigIntToLong(BigInt(d.value)) } : {}),
    ...optional('dim_param', d.param),
    ...optional('denotation', d.denotation),
  };
}

function optional<K extends string, T>(key: K, value: T | undefined): { [k in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: T };
}
