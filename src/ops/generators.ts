import { DataType } from '../ir/dtype.js';
import { attrFloat, attrFloats, attrInt, attrInt64, attrInt64s, attrTensor } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import { checkInputType, checkSameTypes, facts, invalidNode, sameShapeAs, unknownDims } from './rules.js';
import { elementCount, type Tensor } from '../ir/tensor.js';
import { dimProduct } from './shape-math.js';
import type { OpSpec, ShapeRule, ValueFacts } from './spec.js';
import { MAX_FOLDED_ELEMENTS, castElement, scalar, tensorFacts, valueFacts } from './values.js';

const CONSTANT_VALUES = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints', 'value_string', 'value_strings', 'sparse_value'];

/** Constant: the tensor in whichever of its attributes is set (the value_* forms are opset 12); exactly one must be. */
function constantFacts(node: Node): ValueFacts | undefined {
  const set = CONSTANT_VALUES.filter((name) => node.attributes.has(name));
  if (set.length !== 1) throw invalidNode(node, `a Constant needs exactly one of ${CONSTANT_VALUES.join(', ')}; it has ${set.length}`);
  const tensor = attrTensor(node, 'value');
  if (tensor) return tensorFacts(tensor);
  const float = attrFloat(node, 'value_float');
  if (float !== undefined) return valueFacts(DataType.FLOAT, [], [float]);
  const floats = attrFloats(node, 'value_floats');
  if (floats) return valueFacts(DataType.FLOAT, [floats.length], floats);
  const ints = constantInts(node);
  if (ints) return tensorFacts(ints);
  const string = node.attributes.get('value_string');
  if (string) return { elemType: DataType.STRING, shape: [] };
  const strings = node.attributes.get('value_strings');
  if (strings?.type === 'strings') return { elemType: DataType.STRING, shape: [strings.value.length] };
  return undefined; // sparse_value, or no value at all
}

/** The int64 tensor of a Constant's value_int or value_ints (exact: the attribute's int64 values, not JS numbers). */
export function constantInts(node: Node): Tensor | undefined {
  const int = attrInt64(node, 'value_int');
  const ints = int === undefined ? attrInt64s(node, 'value_ints') : [int];
  if (!ints) return undefined;
  return { name: '', dataType: DataType.INT64, dims: int === undefined ? [ints.length] : [], data: BigInt64Array.from(ints), storage: { kind: 'raw' } };
}

/** A tensor of the shape given by input 0, filled with the one-element `value` attribute (default float 0). */
const constantOfShape: ShapeRule = (n) => {
  const fill = attrTensor(n.node, 'value');
  if (fill && elementCount(fill.dims) !== 1) throw invalidNode(n.node, `value must hold one element, it holds ${elementCount(fill.dims)}`);
  checkInputType(n, 0, [DataType.INT64], 'the shape');
  const fillFacts = fill ? tensorFacts(fill) : valueFacts(DataType.FLOAT, [1], [0]);
  const shapeInput = n.input(0);
  const dims = shapeInput?.value;
  if (!dims) return [facts(fillFacts.elemType, unknownDims(n, shapeInput))];
  if (dims.some((d) => typeof d === 'number' && !(d >= 0))) throw invalidNode(n.node, `its shape [${dims}] has a negative dim`);
  const count = dimProduct(dims);
  const filled = fillFacts.value?.length === 1 && count !== null && count <= MAX_FOLDED_ELEMENTS;
  if (!filled) return [{ elemType: fillFacts.elemType, shape: [...dims] }];
  return [valueFacts(fillFacts.elemType, dims as number[], new Array(count).fill(fillFacts.value![0]))];
};

/** Range: ⌈(limit − start) / delta⌉ elements (at least 0), of start's type. */
const range: ShapeRule = (n) => {
  const startFacts = n.input(0);
  if (!startFacts) return [undefined];
  const type = startFacts.elemType;
  checkSameTypes(n);
  const [start, limit, delta] = [0, 1, 2].map((i) => scalar(n.input(i)));
  if (delta === 0) throw invalidNode(n.node, 'delta must not be 0');
  if (start === undefined || limit === undefined || delta === undefined) return [facts(type, [null])];
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  const value = count <= MAX_FOLDED_ELEMENTS ? Array.from({ length: count }, (_, i) => castElement(start + i * delta, type)) : undefined;
  return [valueFacts(type, [count], value)];
};

/** EyeLike: input 0's shape, of the `dtype` attribute's type or else the input's. */
const eyeLike: ShapeRule = (n) => {
  const x = n.input(0);
  if (x?.shape && x.shape.length !== 2) throw invalidNode(n.node, `its input has rank ${x.shape.length}; EyeLike takes a matrix`);
  return x ? sameShapeAs(attrInt(n.node, 'dtype', x.elemType))(n) : [undefined];
};

export const generatorOps: OpSpec[] = [
  { opType: 'Constant', domain: '', infer: (n) => [constantFacts(n.node)] },
  { opType: 'ConstantOfShape', domain: '', infer: constantOfShape },
  { opType: 'Range', domain: '', infer: range },
  { opType: 'EyeLike', domain: '', infer: eyeLike },
];
