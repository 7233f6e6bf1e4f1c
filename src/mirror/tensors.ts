/** IR tensors as tfjs tensors and back. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import { DataType, dataTypeName, type NumericArray } from '../ir/dtype.js';
import { float16ArrayToNumbers } from '../ir/float16.js';
import { isNumeric, type Tensor } from '../ir/tensor.js';

/** Float types the mirror computes in float32; weights of these types are what it trains. */
export const TRAINABLE_TYPES: ReadonlySet<DataType> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Integer types whose values the mirror holds as int32: they are shapes, axes and indices. */
const INTEGER_TYPES: ReadonlySet<DataType> = new Set([
  DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64,
  DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64,
]);

/**
 * A tfjs tensor with a copy of an IR tensor's elements: floats as float32, integers as int32
 * (64-bit values clamped to its range, which for shapes and slice bounds means the same),
 * bool as bool.
 */
export function toTfjs(t: Tensor): tf.Tensor {
  if (!isNumeric(t)) throw new OtocError(`tensor '${t.name}': string tensors are not supported by the tfjs mirror`);
  const data = t.data as NumericArray;
  if (t.dataType === DataType.FLOAT16) return tf.tensor(float16ArrayToNumbers(data as Uint16Array), t.dims, 'float32');
  if (TRAINABLE_TYPES.has(t.dataType)) return tf.tensor(Float32Array.from(data as ArrayLike<number>), t.dims, 'float32');
  if (t.dataType === DataType.BOOL) return tf.tensor(Uint8Array.from(data as Uint8Array), t.dims, 'bool');
  if (INTEGER_TYPES.has(t.dataType)) {
    const clamp = (v: number | bigint) => Math.min(Math.max(Number(v), INT32_MIN), INT32_MAX);
    return tf.tensor(Int32Array.from(data as ArrayLike<number | bigint>, clamp), t.dims, 'int32');
  }
  throw new OtocError(`tensor '${t.name}': data type ${dataTypeName(t.dataType)} is not supported by the tfjs mirror`);
}
