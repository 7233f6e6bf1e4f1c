import { DataType, NumericArray, dataTypeInfo, dataTypeName, isKnownDataType, storedUnits } from '../ir/dtype.js';
import { Tensor, dataBytes, elementCount } from '../ir/tensor.js';
import type { KeyValue } from '../ir/types.js';
import { OtocError } from '../errors.js';
import { Int64, bigIntToLong, int64ToBigInt, int64ToNumber, uint64ToBigInt } from './schema.js';

/** A decoded TensorProto as protobufjs returns it (own properties only for fields present). */
export interface TensorMsg {
  dims?: Int64[];
  data_type?: number;
  segment?: { begin?: Int64; end?: Int64 };
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data?: KeyValue[];
  data_location?: number;
  double_data?: number[];
  uint64_data?: Int64[];
  metadata_props?: KeyValue[];
}

/** Reads the bytes of external-data tensors (`location` is relative to the model's folder). */
export type ExternalReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

const EXTERNAL = 1;

export function decodeTensor(msg: TensorMsg, readExternal: ExternalReader): Tensor {
  const name = msg.name ?? '';
  const code = msg.data_type ?? 0;
  if (!isKnownDataType(code) || code === DataType.UNDEFINED) {
    throw new OtocError(`tensor '${name}' has unsupported data type ${code}`);
  }
  const dataType = code;
  const dims = (msg.dims ?? []).map(int64ToNumber);
  const units = storedUnits(dataType, elementCount(dims));
  const tensor: Tensor = { name, dataType, dims, data: new Uint8Array(0), storage: { kind: 'field' } };
  if (has(msg, 'doc_string')) tensor.docString = msg.doc_string;
  if (msg.metadata_props?.length) tensor.metadataProps = kv(msg.metadata_props);
  if (msg.segment) tensor.segment = { begin: int64ToBigInt(msg.segment.begin), end: int64ToBigInt(msg.segment.end) };

  if (msg.data_location === EXTERNAL) {
    const entries = kv(msg.external_data ?? []);
    const get = (k: string) => entries.find((e) => e.key === k)?.value;
    const location = get('location');
    if (!location) throw new OtocError(`tensor '${name}' is external but names no location`);
    const offset = Number(get('offset') ?? 0);
    const lengthText = get('length');
    const bytes = readExternal(location, offset, lengthText === undefined ? undefined : Number(lengthText));
    tensor.data = viewBytes(name, dataType, bytes, units);
    const props = entries.filter((e) => !['location', 'offset', 'length'].includes(e.key));
    tensor.storage = { kind: 'external', location, props };
  } else if (has(msg, 'raw_data')) {
    if (dataType === DataType.STRING) throw new OtocError(`string tensor '${name}' cannot use raw_data`);
    tensor.data = viewBytes(name, dataType, msg.raw_data!, units);
    tensor.storage = { kind: 'raw' };
  } else {
    tensor.data = fromField(msg, dataType);
  }
  return tensor;
}

/** A typed view of raw bytes; copies only when the bytes are not aligned for the element type. */
function viewBytes(name: string, type: DataType, bytes: Uint8Array, units: number): NumericArray {
  const ctor = dataTypeInfo(type).array!;
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== units * size) {
    throw new OtocError(
      `tensor '${name}' holds ${bytes.byteLength} bytes, but its ${dataTypeName(type)} dims need ${units * size}`,
    );
  }
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, units);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, units);
}

function fromField(msg: TensorMsg, type: DataType): NumericArray | Uint8Array[] {
  const info = dataTypeInfo(type);
  switch (info.field) {
    case 'string_data':
      return [...(msg.string_data ?? [])];
    case 'int64_data':
      return BigInt64Array.from(msg.int64_data ?? [], int64ToBigInt);
    case 'uint64_data':
      if (type === DataType.UINT64) return BigUint64Array.from(msg.uint64_data ?? [], uint64ToBigInt);
      return Uint32Array.from(msg.uint64_data ?? [], (v) => Number(uint64ToBigInt(v)));
    case 'float_data':
      return Float32Array.from(msg.float_data ?? []);
    case 'double_data':
      return Float64Array.from(msg.double_data ?? []);
    case 'int32_data': {
      const out = new info.array!((msg.int32_data ?? []).length);
      (msg.int32_data ?? []).forEach((v, i) => (out[i] = v));
      return out;
    }
  }
}

/** Collects the bytes of tensors that are written to external files. */
export interface ExternalSink {
  /** Store `bytes` in `location` and return the offset they were stored at. */
  put(location: string, bytes: Uint8Array): number;
}

export function encodeTensor(t: Tensor, sink: ExternalSink): TensorMsg {
  const msg: TensorMsg = { dims: t.dims.map((d) => bigIntToLong(BigInt(d))), data_type: t.dataType };
  if (t.name) msg.name = t.name;
  if (t.docString !== undefined) msg.doc_string = t.docString;
  if (t.metadataProps) msg.metadata_props = t.metadataProps;
  if (t.segment) msg.segment = { begin: bigIntToLong(t.segment.begin), end: bigIntToLong(t.segment.end) };
  if (Array.isArray(t.data)) {
    msg.string_data = t.data;
    return msg;
  }
  const storage = t.storage;
  if (storage.kind === 'external') {
    const bytes = dataBytes(t.data);
    const offset = sink.put(storage.location, bytes);
    msg.data_location = EXTERNAL;
    msg.external_data = [
      { key: 'location', value: storage.location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.byteLength) },
      ...storage.props,
    ];
  } else if (storage.kind === 'raw') {
    msg.raw_data = dataBytes(t.data);
  } else {
    toField(msg, t.dataType, t.data);
  }
  return msg;
}

function toField(msg: TensorMsg, type: DataType, data: NumericArray): void {
  const field = dataTypeInfo(type).field;
  switch (field) {
    case 'int64_data':
      msg.int64_data = Array.from(data as BigInt64Array, (v) => bigIntToLong(v));
      return;
    case 'uint64_data':
      msg.uint64_data = Array.from(data as ArrayLike<number | bigint>, (v) => bigIntToLong(BigInt(v), true));
      return;
    case 'float_data':
    case 'double_data':
    case 'int32_data':
      msg[field] = Array.from(data as ArrayLike<number>);
      return;
    case 'string_data':
      throw new Error('unreachable: string tensors hold byte strings');
  }
}

function kv(entries: KeyValue[]): KeyValue[] {
  return entries.map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
}

export function has<T extends object>(msg: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(msg, key);
}
