import { DataType, NumericArray, dataTypeInfo, storedUnits } from './dtype.js';
import type { KeyValue } from './types.js';

/** Where a tensor's bytes live in the ONNX file; kept so that a round trip writes them the same way. */
export type TensorStorage =
  | { kind: 'raw' }
  | { kind: 'field' }
  /** `props` holds every external_data entry except location/offset/length, which the writer recomputes. */
  | { kind: 'external'; location: string; props: KeyValue[] };

/** A constant tensor (initializer, Constant attribute, test data). */
export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  /** Element values: a typed array for numeric types (a view of the file bytes when possible), byte strings for STRING. */
  data: NumericArray | Uint8Array[];
  storage: TensorStorage;
  docString?: string;
  metadataProps?: KeyValue[];
  segment?: { begin: bigint; end: bigint };
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function makeTensor(name: string, dataType: DataType, dims: number[], data: NumericArray): Tensor {
  const expected = storedUnits(dataType, elementCount(dims));
  if (data.length !== expected) {
    throw new Error(`tensor '${name}': ${data.length} values for dims [${dims}] (expected ${expected})`);
  }
  return { name, dataType, dims, data, storage: { kind: 'raw' } };
}

export function isNumeric(t: Tensor): t is Tensor & { data: NumericArray } {
  return !Array.isArray(t.data);
}

/** Float32 data of a FLOAT tensor (throws for any other type). */
export function floatData(t: Tensor): Float32Array {
  if (t.dataType !== DataType.FLOAT || !(t.data instanceof Float32Array)) {
    throw new Error(`tensor '${t.name}' is not float32`);
  }
  return t.data;
}

/** Integer values of an integer tensor as JS numbers (shape constants, axes, pads). */
export function intValues(t: Tensor): number[] {
  if (!isNumeric(t) || dataTypeInfo(t.dataType).isFloat) throw new Error(`tensor '${t.name}' is not an integer tensor`);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Byte view of a numeric tensor's data (no copy). */
export function dataBytes(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
