import { DataType, NumericArray, dataTypeInfo, dataTypeName, isKnownDataType, storedUnits } from '../ir/dtype.js';
import { Tensor, dataBytes } from '../ir/tensor.js';
import type { KeyValue } from '../ir/types.js';
import { OtocError } from '../errors.js';
import { MAX_RANK, MAX_STORED_ELEMENTS } from '../limits.js';
import type { ExternalReader } from './external-data.js';
import { Int64, bigIntToLong, int64ToBigInt, int64ToNumber, uint64ToBigInt } from './schema.js';

/** A decoded TensorProto as protobufjs returns it (own properties only for fields present). */
export interface TensorMsg {
  dims?: Int64[];
  data_type?: number;
  segment?: { begin?: Int64; end?: Int64 };
  /** Bit patterns of float32 values (see schemas/onnx.proto). */
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  external_data?: KeyValue[];
  data_location?: number;
  /** Bit patterns of float64 values (see schemas/onnx.proto). */
  double_data?: Int64[];
  uint64_data?: Int64[];
  metadata_props?: KeyValue[];
}

/** Where decodeTensor finds tensor bytes, and what it may do with them. */
export interface TensorSources {
  readExternal: ExternalReader;
  /**
   * The decoded protobuf bytes belong to otoc: raw_data becomes views of them, and raw_data that
   * is not aligned for its element type may be moved back over its own field header instead of
   * being copied (see viewBytes). Otherwise raw_data is copied.
   */
  ownsBytes: boolean;
}

const EXTERNAL = 1;

export function decodeTensor(msg: TensorMsg, sources: TensorSources): Tensor {
  const name = msg.name ?? '';
  const code = msg.data_type ?? 0;
  if (!isKnownDataType(code) || code === DataType.UNDEFINED) {
    throw new OtocError(`tensor '${name}' has unsupported data type ${code}`);
  }
  const dataType = code;
  const dims = (msg.dims ?? []).map(int64ToNumber);
  const units = storedUnits(dataType, checkedElementCount(name, dims));
  const tensor: Tensor = { name, dataType, dims, data: new Uint8Array(0), storage: { kind: 'field' } };
  if (has(msg, 'doc_string')) tensor.docString = msg.doc_string;
  if (msg.metadata_props?.length) tensor.metadataProps = kv(msg.metadata_props);
  if (msg.segment) tensor.segment = { begin: int64ToBigInt(msg.segment.begin), end: int64ToBigInt(msg.segment.end) };

  if (msg.data_location === EXTERNAL) {
    const entries = kv(msg.external_data ?? []);
    const get = (k: string) => entries.find((e) => e.key === k)?.value;
    const location = get('location');
    if (!location) throw new OtocError(`tensor '${name}' is external but names no location`);
    if (dataType === DataType.STRING) throw new OtocError(`string tensor '${name}' cannot use external data`);
    const byteCount = (key: string) => {
      const text = get(key);
      if (text === undefined) return undefined;
      const n = Number(text);
      // onnxruntime reads these as decimal digits only: "0x10" or "1.5" are refused, not reinterpreted.
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n)) {
        throw new OtocError(`tensor '${name}' has external data ${key} '${text}', which is not a whole number of bytes in decimal digits`);
      }
      return n;
    };
    const range = { location, offset: byteCount('offset') ?? 0, length: byteCount('length') };
    const bytes = sources.readExternal(range, units * dataTypeInfo(dataType).array!.BYTES_PER_ELEMENT);
    tensor.data = viewBytes(checkedArrayType(name, dataType, bytes, units), bytes, units, 0);
    const props = entries.filter((e) => !['location', 'offset', 'length'].includes(e.key));
    tensor.storage = { kind: 'external', location, props };
  } else if (has(msg, 'raw_data')) {
    if (dataType === DataType.STRING) throw new OtocError(`string tensor '${name}' cannot use raw_data`);
    const raw = msg.raw_data!;
    const ctor = checkedArrayType(name, dataType, raw, units);
    tensor.data = sources.ownsBytes ? viewBytes(ctor, raw, units, rawDataHeaderBytes(raw.byteLength)) : copyBytes(ctor, raw, units);
    tensor.storage = { kind: 'raw' };
  } else {
    tensor.data = fromField(msg, dataType);
    if (tensor.data.length !== units) {
      const field = dataTypeInfo(dataType).field;
      const held = tensor.data.length ? `holds ${tensor.data.length} values in ${field}` : 'has no data';
      throw new OtocError(`tensor '${name}' ${held}, but its ${dataTypeName(dataType)} dims [${dims}] need ${units}`);
    }
  }
  return tensor;
}

/**
 * The element count of a stored tensor's dims, refused when a dim is negative, when there are
 * more than MAX_RANK dims, or when the count passes MAX_STORED_ELEMENTS: nothing is allocated
 * for a tensor before its dims pass.
 */
function checkedElementCount(name: string, dims: readonly number[]): number {
  const refuse = (problem: string) => new OtocError(`tensor '${name}' ${problem}`);
  if (dims.length > MAX_RANK) throw refuse(`has ${dims.length} dims, more than otoc's limit of ${MAX_RANK}`);
  for (const d of dims) if (d < 0) throw refuse(`has a negative dim: [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_STORED_ELEMENTS || dims.some((d) => d > MAX_STORED_ELEMENTS)) {
    throw refuse(`has dims [${dims}]: more than otoc's limit of ${MAX_STORED_ELEMENTS} elements`);
  }
  return count;
}

/**
 * A typed view of raw bytes the model may own. When the bytes are not aligned for the element
 * type, they are moved back by up to `movable` bytes (bytes before them that nothing reads any
 * more), and copied only when that is not enough.
 */
function viewBytes(ctor: NumericArrayType, bytes: Uint8Array, units: number, movable: number): NumericArray {
  const size = ctor.BYTES_PER_ELEMENT;
  const misalignment = bytes.byteOffset % size;
  if (misalignment === 0) return new ctor(bytes.buffer, bytes.byteOffset, units);
  if (misalignment <= movable) {
    const start = bytes.byteOffset - misalignment;
    new Uint8Array(bytes.buffer).copyWithin(start, bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    return new ctor(bytes.buffer, start, units);
  }
  return copyBytes(ctor, bytes, units);
}

/** A typed copy of raw bytes that stay the caller's: a model changed in place (zeroed groups) must not write into them. */
function copyBytes(ctor: NumericArrayType, bytes: Uint8Array, units: number): NumericArray {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, units);
}

type NumericArrayType = NonNullable<ReturnType<typeof dataTypeInfo>['array']>;

/** The typed-array type of `type`, once the bytes are known to hold `units` of its elements. */
function checkedArrayType(name: string, type: DataType, bytes: Uint8Array, units: number): NumericArrayType {
  const ctor = dataTypeInfo(type).array!;
  if (bytes.byteLength !== units * ctor.BYTES_PER_ELEMENT) {
    throw new OtocError(`tensor '${name}' holds ${bytes.byteLength} bytes, but its ${dataTypeName(type)} dims need ${units * ctor.BYTES_PER_ELEMENT}`);
  }
  return ctor;
}

/**
 * How many bytes certainly precede raw_data's content in the encoded TensorProto: the field's
 * tag (one byte for field 9) and its length varint. The protobuf has been decoded and checked
 * by the time tensors are built, so nothing reads them again, and moving misaligned data back
 * over them (protobuf gives no alignment) makes every big tensor a view of the file bytes.
 */
function rawDataHeaderBytes(length: number): number {
  let varintBytes = 1;
  for (let rest = Math.floor(length / 128); rest > 0; rest = Math.floor(rest / 128)) varintBytes++;
  return 1 + varintBytes;
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
      return new Float32Array(Uint32Array.from(msg.float_data ?? []).buffer);
    case 'double_data':
      return new Float64Array(BigUint64Array.from(msg.double_data ?? [], uint64ToBigInt).buffer);
    case 'int32_data': {
      const out = new info.array!((msg.int32_data ?? []).length);
      (msg.int32_data ?? []).forEach((v, i) => (out[i] = v));
      return out;
    }
  }
}

/** Collects the bytes of tensors that are written to external files. */
export interface ExternalSink {
  /** Store the bytes of a tensor read from `location`; returns the file and offset they were stored at. */
  put(location: string, bytes: Uint8Array): { location: string; offset: number };
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
    const { location, offset } = sink.put(storage.location, bytes);
    msg.data_location = EXTERNAL;
    msg.external_data = [
      { key: 'location', value: location },
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
      msg.float_data = Array.from(bitsOf(Uint32Array, data));
      return;
    case 'double_data':
      msg.double_data = Array.from(bitsOf(BigUint64Array, data), (v) => bigIntToLong(v, true));
      return;
    case 'int32_data':
      msg.int32_data = Array.from(data as ArrayLike<number>);
      return;
    case 'string_data':
      throw new Error('unreachable: string tensors hold byte strings');
  }
}

/** The same memory as an array of unsigned integers of the element's width. */
function bitsOf<T>(ctor: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T, data: NumericArray): T {
  return new ctor(data.buffer, data.byteOffset, data.length);
}

function kv(entries: KeyValue[]): KeyValue[] {
  return entries.map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
}

export function has<T extends object>(msg: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(msg, key);
}
