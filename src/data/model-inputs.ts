/**
 * Arrays of model inputs as data files give them (ONNX test data, .npy, random), checked against
 * the model's inputs and turned into `Samples`: axis 0 of every array is the samples, the other
 * axes must fit the input's declared dims (a symbolic dim fits any size; the declared batch may be
 * anything, since the mirror frees it). Values keep their kind (float, integer, bool) and are
 * stored as float32 or int32, remembering the model's type for onnxruntime.
 */
import { OtocError } from '../errors.js';
import { DataType, dataTypeName, isFloatType, type NumericArray } from '../ir/dtype.js';
import { float16ArrayToNumbers } from '../ir/float16.js';
import type { Model, Value } from '../ir/graph.js';
import { dimsToShape, formatShape, type Shape } from '../ir/types.js';
import type { SampleData, SampleTensor, Samples } from './samples.js';

/** One model input's values for every sample, as a file holds them. */
export interface InputArray {
  /** The model input it feeds. */
  input: string;
  /** [samples, ...one sample's dims]. */
  dims: number[];
  dataType: DataType;
  data: NumericArray;
  /** Where it came from, for errors (a file, or `random`). */
  origin: string;
}

/** The graph inputs a caller feeds, in order (an initializer that is also an input is a weight). */
export function fedInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => !v.isConstant);
}

/**
 * The samples `arrays` give the model, one array per fed input, all with the same number of
 * samples; `labels` (one per sample) when the data has them. An OtocError names the input, what
 * it takes and what the data gives.
 */
export function fitModelInputs(model: Model, arrays: readonly InputArray[], labels?: Int32Array): Samples {
  const inputs = fedInputs(model);
  const names = inputs.map((v) => `'${v.name}'`).join(', ');
  const extra = arrays.find((a) => !inputs.some((v) => v.name === a.input));
  if (extra) throw new OtocError(`${extra.origin} feeds '${extra.input}', which is not a model input (inputs: ${names})`);
  const tensors = inputs.map((input) => {
    const array = arrays.find((a) => a.input === input.name);
    if (!array) throw new OtocError(`the data has no values for the model input '${input.name}' (inputs: ${names})`);
    return sampleTensor(input, array);
  });
  const count = arrays[0]?.dims[0] ?? 0;
  const uneven = arrays.find((a) => a.dims[0] !== count);
  if (uneven) throw new OtocError(`${uneven.origin} holds ${uneven.dims[0]} samples, ${arrays[0].origin} ${count}: every input needs a value per sample`);
  if (count === 0) throw new OtocError('the data holds no samples');
  if (labels && labels.length !== count) throw new OtocError(`the data has ${labels.length} labels for ${count} samples`);
  const classes = labels && 1 + labels.reduce((a, b) => Math.max(a, b), 0);
  return { count, inputs: tensors, ...(labels && { labels, classes }) };
}

function sampleTensor(input: Value, array: InputArray): SampleTensor {
  const type = input.type?.kind === 'tensor' ? input.type : undefined;
  const declared = type?.shape && dimsToShape(type.shape);
  const [, ...sampleDims] = array.dims;
  if (declared && (declared.length === 0 || (typeof declared[0] === 'number' && declared[0] !== 1))) {
    throw new OtocError(
      `the model input '${input.name}' is ${formatShape(declared)}: otoc trains on inputs whose first axis is the batch (symbolic, or 1)`,
    );
  }
  if (declared && !fits(declared, array.dims)) {
    throw new OtocError(`the model input '${input.name}' is ${formatShape(batchFree(declared))} (any batch N); ${array.origin} holds ${formatShape(array.dims)}`);
  }
  const dataType = (type?.elemType as DataType | undefined) ?? array.dataType;
  return { name: input.name, sampleDims, data: sampleData(input.name, dataType, array), ...(dataType !== storedType(dataType) && { dataType }) };
}

/** Same rank, and every declared size but the batch's equal to the data's. */
function fits(declared: Shape, dims: readonly number[]): boolean {
  return declared.length === dims.length && declared.every((d, i) => i === 0 || typeof d !== 'number' || d === dims[i]);
}

function batchFree(declared: Shape): Shape {
  return [typeof declared[0] === 'string' ? declared[0] : 'N', ...declared.slice(1)];
}

type Kind = 'float' | 'integer' | 'bool';

function kindOf(type: DataType): Kind | undefined {
  if (type === DataType.BOOL) return 'bool';
  if (type === DataType.FLOAT || type === DataType.DOUBLE || type === DataType.FLOAT16) return 'float';
  if (isFloatType(type) || [DataType.STRING, DataType.COMPLEX64, DataType.COMPLEX128].includes(type)) return undefined;
  return 'integer';
}

/** How samples hold values of `type`: float32 for floats, int32 for integers and bools. */
function storedType(type: DataType): DataType {
  return kindOf(type) === 'float' ? DataType.FLOAT : DataType.INT32;
}

const INT32_RANGE = [-(2 ** 31), 2 ** 31 - 1];

/** The array's values as the samples hold them; an OtocError when their kind is not the input's. */
function sampleData(input: string, inputType: DataType, array: InputArray): SampleData {
  const kind = kindOf(inputType);
  if (!kind) throw new OtocError(`the model input '${input}' is ${dataTypeName(inputType)}, which otoc cannot train on`);
  if (kindOf(array.dataType) !== kind) {
    throw new OtocError(`the model input '${input}' takes ${dataTypeName(inputType)} values; ${array.origin} holds ${dataTypeName(array.dataType)}`);
  }
  if (kind === 'float') {
    if (array.dataType === DataType.FLOAT16) return float16ArrayToNumbers(array.data as Uint16Array);
    return array.data instanceof Float32Array ? array.data : Float32Array.from(array.data as Float64Array);
  }
  const out = findOutOfRange(array.data);
  if (out !== undefined) throw new OtocError(`${array.origin} holds ${out}, outside the int32 range the trainer computes in`);
  return Int32Array.from(array.data as ArrayLike<number | bigint>, Number);
}

function findOutOfRange(data: NumericArray): number | bigint | undefined {
  if (!(data instanceof BigInt64Array || data instanceof BigUint64Array || data instanceof Uint32Array)) return undefined;
  return (data as Uint32Array).find((v) => Number(v) < INT32_RANGE[0] || Number(v) > INT32_RANGE[1]);
}

/** Arrays of one input from several files (input sets), joined along the samples axis. */
export function concatenateArrays(parts: readonly InputArray[]): InputArray {
  const [first] = parts;
  const sampleDims = first.dims.slice(1).join();
  for (const p of parts) {
    if (p.dataType !== first.dataType || p.dims.slice(1).join() !== sampleDims || p.dims.length !== first.dims.length) {
      throw new OtocError(
        `${p.origin} holds ${dataTypeName(p.dataType)} ${formatShape(p.dims)}, ${first.origin} ${dataTypeName(first.dataType)} ${formatShape(first.dims)}: ` +
          'the samples of one input must share a type and a shape',
      );
    }
  }
  if (parts.length === 1) return first;
  const data = new (first.data.constructor as new (n: number) => NumericArray)(parts.reduce((a, p) => a + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { ...first, dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...first.dims.slice(1)], data };
}
