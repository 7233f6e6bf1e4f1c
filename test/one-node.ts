/** One-node models built by hand, for tests of what otoc (and onnxruntime) accept and refuse. */
import { DataType, dataTypeInfo } from '../src/ir/dtype.js';
import { Attribute, Graph, Model } from '../src/ir/graph.js';
import { elementCount, type Tensor } from '../src/ir/tensor.js';
import { tensorType, type Shape } from '../src/ir/types.js';

/** A node input: a graph input of a declared type, an initializer, or absent (''). */
export type Operand =
  | { kind: 'input'; type: DataType; shape: Shape }
  | { kind: 'constant'; tensor: Omit<Tensor, 'name'> }
  | { kind: 'absent' };

/** A graph input of type `type` (float by default) and shape `shape`. */
export function input(shape: Shape, type = DataType.FLOAT): Operand {
  return { kind: 'input', type, shape };
}

/** An initializer: `values` as given, or 0.1, 0.2, ... (1, 2, ... for integer types) when left out. */
export function constant(dims: number[], values?: readonly (number | bigint)[], type = DataType.FLOAT): Operand {
  const info = dataTypeInfo(type);
  if (!info.array) throw new Error('constant(): use constantTensor() for strings');
  const count = elementCount(dims);
  const data = new info.array(count);
  for (let i = 0; i < count; i++) {
    const v = values ? values[i] : info.isFloat ? (i % 7) / 10 + 0.1 : (i % 5) + 1;
    data[i] = (data instanceof BigInt64Array || data instanceof BigUint64Array ? BigInt(v) : Number(v)) as never;
  }
  return { kind: 'constant', tensor: { dataType: type, dims, data, storage: { kind: 'raw' } } };
}

export function ints(values: readonly (number | bigint)[]): Operand {
  return constant([values.length], values, DataType.INT64);
}

export function constantTensor(tensor: Omit<Tensor, 'name'>): Operand {
  return { kind: 'constant', tensor };
}

export const absent: Operand = { kind: 'absent' };

/** Attribute values: a number is an int, an array of numbers ints, a string a string. */
export type AttributeValue =
  | number
  | bigint
  | readonly (number | bigint)[]
  | string
  | { float: number }
  | { floats: number[] }
  | { tensor: Omit<Tensor, 'name'> }
  | { strings: string[] };

export function toAttribute(name: string, v: AttributeValue): Attribute {
  if (typeof v === 'number' || typeof v === 'bigint') return { name, type: 'int', value: BigInt(v) };
  if (typeof v === 'string') return { name, type: 'string', value: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: 'ints', value: v.map((x) => BigInt(x)) };
  const o = v as Exclude<AttributeValue, number | bigint | string | readonly (number | bigint)[]>;
  if ('float' in o) return { name, type: 'float', value: o.float };
  if ('floats' in o) return { name, type: 'floats', value: o.floats };
  if ('strings' in o) return { name, type: 'strings', value: o.strings.map((s) => Buffer.from(s)) };
  return { name, type: 'tensor', value: { ...o.tensor, name: '' } };
}

export interface OneNode {
  op: string;
  inputs: Operand[];
  attributes?: Record<string, AttributeValue>;
  /** Number of outputs (1 by default). */
  outputs?: number;
  opset?: number;
  irVersion?: number;
}

/** The node is named 'node'; inputs are 'in0', 'in1', ...; outputs 'out0', ... are the graph's outputs, untyped. */
export function oneNodeModel(spec: OneNode): Model {
  const graph = new Graph();
  graph.name = spec.op;
  const inputs = spec.inputs.map((operand, i) => {
    if (operand.kind === 'absent') return null;
    const v = graph.ensureValue(`in${i}`);
    if (operand.kind === 'input') {
      v.type = tensorType(operand.type, operand.shape);
      graph.inputs.push(v);
    } else graph.addInitializer(v, { ...operand.tensor, name: v.name });
    return v;
  });
  const outputs = Array.from({ length: spec.outputs ?? 1 }, (_, i) => graph.ensureValue(`out${i}`));
  const node = graph.addNode(spec.op, inputs, outputs);
  node.name = 'node';
  for (const [name, value] of Object.entries(spec.attributes ?? {})) node.attributes.set(name, toAttribute(name, value));
  graph.outputs.push(...outputs);
  const model = new Model(graph);
  model.irVersion = spec.irVersion ?? 8;
  model.opsetImports = [{ domain: '', version: spec.opset ?? 17 }];
  return model;
}
