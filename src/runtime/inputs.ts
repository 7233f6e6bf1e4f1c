import { OtocError } from '../errors.js';
import { DataType, NumericArray, dataTypeName } from '../ir/dtype.js';
import { numberToFloat16Bits } from '../ir/float16.js';
import type { Model } from '../ir/graph.js';
import { Tensor, elementCount, makeTensor } from '../ir/tensor.js';
import { assumedShape, type ShapeOverrides } from '../ir/input-shapes.js';
import { dimsToShape, formatShape } from '../ir/types.js';
import { MAX_STORED_ELEMENTS } from '../limits.js';
import { Rng } from '../util/random.js';
import { Feeds, readTestFeeds } from './ort.js';

/** Where the input values of a run come from. */
export type InputSource =
  | { kind: 'test-data'; dir: string }
  /** `shapes` overrides the model's declared input shapes, by input name. */
  | { kind: 'random'; count: number; seed: number; shapes: ShapeOverrides };

/** Integer inputs are drawn from [0, SMALL_INT_LIMIT): small enough to be valid indices for most Gather/embedding inputs. */
const SMALL_INT_LIMIT = 4;

type RandomArray = (length: number, rng: Rng) => NumericArray;

/** Floats ~ N(0, 1), integers small and non-negative, bools fair coin flips. */
const RANDOM_VALUES: Partial<Record<DataType, RandomArray>> = {
  [DataType.FLOAT]: (length, rng) => Float32Array.from({ length }, () => rng.normal()),
  [DataType.DOUBLE]: (length, rng) => Float64Array.from({ length }, () => rng.normal()),
  [DataType.FLOAT16]: (length, rng) => Uint16Array.from({ length }, () => numberToFloat16Bits(rng.normal())),
  [DataType.BOOL]: (length, rng) => Uint8Array.from({ length }, () => rng.int(2)),
  [DataType.INT8]: (length, rng) => Int8Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.UINT8]: (length, rng) => Uint8Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.INT16]: (length, rng) => Int16Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.UINT16]: (length, rng) => Uint16Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.INT32]: (length, rng) => Int32Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.UINT32]: (length, rng) => Uint32Array.from({ length }, () => rng.int(SMALL_INT_LIMIT)),
  [DataType.INT64]: (length, rng) => BigInt64Array.from({ length }, () => BigInt(rng.int(SMALL_INT_LIMIT))),
  [DataType.UINT64]: (length, rng) => BigUint64Array.from({ length }, () => BigInt(rng.int(SMALL_INT_LIMIT))),
};

/**
 * The input sets a source describes, for the inputs onnxruntime asks for (`inputNames`, in
 * session order); `model` declares their types.
 */
export function inputSets(source: InputSource, model: Model, inputNames: readonly string[]): Feeds[] {
  if (source.kind === 'test-data') return [readTestFeeds(source.dir, inputNames)];
  const specs = inputNames.map((name) => inputSpec(model, name, source.shapes));
  const unknown = [...source.shapes.keys()].filter((name) => !inputNames.includes(name));
  if (unknown.length) {
    throw new OtocError(`--shape names '${unknown[0]}', which is not a model input (inputs: ${inputNames.join(', ')})`);
  }
  const rng = new Rng(source.seed);
  return Array.from({ length: source.count }, () =>
    Object.fromEntries(specs.map((spec) => [spec.name, randomTensor(spec, rng)])),
  );
}

interface InputSpec {
  name: string;
  dataType: DataType;
  dims: number[];
}

/** Element type and concrete shape of input `name`: symbolic and unknown dims become 1 unless `overrides` gives the shape. */
function inputSpec(model: Model, name: string, overrides: ShapeOverrides): InputSpec {
  const type = model.graph.inputs.find((v) => v.name === name)?.type;
  if (!type) throw new OtocError(`input '${name}' has no declared type, so otoc cannot make random values for it`);
  if (type.kind !== 'tensor') {
    throw new OtocError(`input '${name}' is a ${type.kind}, and otoc can only make random tensors`);
  }
  const dataType = type.elemType as DataType;
  if (!RANDOM_VALUES[dataType]) {
    throw new OtocError(`input '${name}' has data type ${dataTypeName(dataType)}, for which otoc cannot make random values`);
  }
  const shape = assumedShape(name, type.shape && dimsToShape(type.shape), overrides);
  if (!shape) {
    throw new OtocError(`input '${name}' has no declared shape: give one with --shape ${name}=<dims, e.g. 1x3x32x32>`);
  }
  return { name, dataType, dims: shape.map((d) => (typeof d === 'number' ? d : 1)) };
}

function randomTensor({ name, dataType, dims }: InputSpec, rng: Rng): Tensor {
  const count = elementCount(dims);
  if (count > MAX_STORED_ELEMENTS) {
    throw new OtocError(`input '${name}' of shape ${formatShape(dims)} has more than otoc's limit of ${MAX_STORED_ELEMENTS} elements in a tensor`);
  }
  return makeTensor(name, dataType, dims, RANDOM_VALUES[dataType]!(count, rng));
}
