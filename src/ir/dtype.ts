/** ONNX TensorProto.DataType codes (IR version 11). */
export enum DataType {
  UNDEFINED = 0,
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  COMPLEX64 = 14,
  COMPLEX128 = 15,
  BFLOAT16 = 16,
  FLOAT8E4M3FN = 17,
  FLOAT8E4M3FNUZ = 18,
  FLOAT8E5M2 = 19,
  FLOAT8E5M2FNUZ = 20,
  UINT4 = 21,
  INT4 = 22,
  FLOAT4E2M1 = 23,
  FLOAT8E8M0 = 24,
}

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type NumericArrayCtor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** Which repeated field of TensorProto holds a type's values when raw_data is not used. */
export type TypedField = 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' | 'string_data';

interface DataTypeInfo {
  name: string;
  /** In-memory representation: one array element per stored unit (see `unitsPerElement`). */
  array: NumericArrayCtor | null;
  field: TypedField;
  /** Stored array units per tensor element: 2 for complex types, 0.5 for packed 4-bit types. */
  unitsPerElement: number;
  isFloat: boolean;
}

const INFO: Record<DataType, DataTypeInfo | undefined> = {
  [DataType.UNDEFINED]: undefined,
  [DataType.FLOAT]: { name: 'float32', array: Float32Array, field: 'float_data', unitsPerElement: 1, isFloat: true },
  [DataType.UINT8]: { name: 'uint8', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.INT8]: { name: 'int8', array: Int8Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.UINT16]: { name: 'uint16', array: Uint16Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.INT16]: { name: 'int16', array: Int16Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.INT32]: { name: 'int32', array: Int32Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.INT64]: { name: 'int64', array: BigInt64Array, field: 'int64_data', unitsPerElement: 1, isFloat: false },
  [DataType.STRING]: { name: 'string', array: null, field: 'string_data', unitsPerElement: 1, isFloat: false },
  [DataType.BOOL]: { name: 'bool', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: false },
  [DataType.FLOAT16]: { name: 'float16', array: Uint16Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.DOUBLE]: { name: 'float64', array: Float64Array, field: 'double_data', unitsPerElement: 1, isFloat: true },
  [DataType.UINT32]: { name: 'uint32', array: Uint32Array, field: 'uint64_data', unitsPerElement: 1, isFloat: false },
  [DataType.UINT64]: { name: 'uint64', array: BigUint64Array, field: 'uint64_data', unitsPerElement: 1, isFloat: false },
  [DataType.COMPLEX64]: { name: 'complex64', array: Float32Array, field: 'float_data', unitsPerElement: 2, isFloat: false },
  [DataType.COMPLEX128]: { name: 'complex128', array: Float64Array, field: 'double_data', unitsPerElement: 2, isFloat: false },
  [DataType.BFLOAT16]: { name: 'bfloat16', array: Uint16Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.FLOAT8E4M3FN]: { name: 'float8e4m3fn', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.FLOAT8E5M2]: { name: 'float8e5m2', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
  [DataType.UINT4]: { name: 'uint4', array: Uint8Array, field: 'int32_data', unitsPerElement: 0.5, isFloat: false },
  [DataType.INT4]: { name: 'int4', array: Uint8Array, field: 'int32_data', unitsPerElement: 0.5, isFloat: false },
  [DataType.FLOAT4E2M1]: { name: 'float4e2m1', array: Uint8Array, field: 'int32_data', unitsPerElement: 0.5, isFloat: true },
  [DataType.FLOAT8E8M0]: { name: 'float8e8m0', array: Uint8Array, field: 'int32_data', unitsPerElement: 1, isFloat: true },
};

export function isKnownDataType(code: number): code is DataType {
  return INFO[code as DataType] !== undefined;
}

export function dataTypeInfo(type: DataType): DataTypeInfo {
  const info = INFO[type];
  if (!info) throw new Error(`no information for data type ${type}`);
  return info;
}

export function dataTypeName(type: number): string {
  return INFO[type as DataType]?.name ?? `type#${type}`;
}

/** Number of in-memory array units that hold `elements` tensor elements. */
export function storedUnits(type: DataType, elements: number): number {
  return Math.ceil(elements * dataTypeInfo(type).unitsPerElement);
}

export function isFloatType(type: number): boolean {
  return INFO[type as DataType]?.isFloat ?? false;
}
