/** Float tensor data from float32 values, without tfjs (onnxruntime's feeds and the mirror's exports share it). */
import { DataType, dataTypeName, type NumericArray } from './dtype.js';
import { numberToFloat16Bits } from './float16.js';

/** float32 values as the data of a float tensor of `type` (rounded to it). */
export function floatDataOf(values: Float32Array, type: DataType): NumericArray {
  switch (type) {
    case DataType.FLOAT:
      return Float32Array.from(values);
    case DataType.DOUBLE:
      return Float64Array.from(values);
    case DataType.FLOAT16:
      return Uint16Array.from(values, numberToFloat16Bits);
    default:
      throw new Error(`not a float type: ${dataTypeName(type)}`);
  }
}
