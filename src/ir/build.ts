/**
 * Building IR: nodes with their attributes, initializers, graph inputs and outputs. The zoo,
 * the kernel graphs and the prune rewrites all build through it, so that an attribute is always
 * written one way.
 */
import { DataType, type NumericArray } from './dtype.js';
import { Graph, Model, type Attribute, type Node, type Value } from './graph.js';
import { makeTensor, type Tensor } from './tensor.js';
import { tensorType, type Shape } from './types.js';

type Tagged = Attribute extends infer A ? (A extends Attribute ? Omit<A, 'name'> : never) : never;

/**
 * An attribute's value: a whole number is an `int`, a list of them `ints`, a string a UTF-8
 * `string`; any other type is written tagged, as `float(0.5)`, `floats([...])` or
 * `{ type: 'graph', value: body }`.
 */
export type AttributeValue = number | bigint | readonly (number | bigint)[] | string | Tagged;
export type Attributes = Record<string, AttributeValue>;

export const float = (value: number): Tagged => ({ type: 'float', value });
export const floats = (value: readonly number[]): Tagged => ({ type: 'floats', value: [...value] });

export function attribute(name: string, value: AttributeValue): Attribute {
  if (typeof value === 'string') return { name, type: 'string', value: new TextEncoder().encode(value) };
  if (typeof value === 'number' || typeof value === 'bigint') return { name, type: 'int', value: int64(name, value) };
  if (isList(value)) return { name, type: 'ints', value: value.map((v) => int64(name, v)) };
  return { name, ...value } as Attribute;
}

function isList(value: AttributeValue): value is readonly (number | bigint)[] {
  return Array.isArray(value);
}

function int64(name: string, v: number | bigint): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new Error(`attribute '${name}': ${v} is not an integer (write float(${v}) for a float attribute)`);
  }
  return BigInt(v);
}

/** Set `attributes` on `node`, in their order, replacing any of the same name. */
export function setAttributes(node: Node, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) node.attributes.set(name, attribute(name, value));
}

export interface NodeOptions {
  name?: string;
  domain?: string;
  attributes?: Attributes;
  /** Output names (null for an omitted output); one output with a fresh name by default. */
  outputs?: (string | null)[];
}

/** Builds into `graph`. A name given is made unique in the graph's scope (`name_1`, ...); a name left out is `t<n>` or `const<n>`. */
export class GraphBuilder {
  private count = 0;

  constructor(readonly graph: Graph = new Graph()) {}

  /** A graph input of element type `elemType` and shape `shape`. */
  input(name: string, elemType: DataType, shape: Shape): Value {
    const v = this.graph.newValue(name);
    v.type = tensorType(elemType, shape);
    this.graph.inputs.push(v);
    return v;
  }

  /** An initializer holding `tensor` (named as its value). */
  initializer(tensor: Tensor, name?: string): Value {
    const v = this.graph.newValue(name ?? this.fresh('const'));
    this.graph.addInitializer(v, { ...tensor, name: v.name });
    return v;
  }

  constant(dataType: DataType, dims: number[], data: NumericArray, name?: string): Value {
    return this.initializer(makeTensor('', dataType, dims, data), name);
  }

  /** A 1-D INT64 initializer: the shapes, axes and indices operands of ONNX ops. */
  int64s(values: readonly number[], name?: string): Value {
    return this.constant(DataType.INT64, [values.length], BigInt64Array.from(values, (v) => BigInt(v)), name);
  }

  node(opType: string, inputs: (Value | null)[], options: NodeOptions = {}): Node {
    const outputs = (options.outputs ?? [this.fresh('t')]).map((name) => (name === null ? null : this.graph.newValue(name)));
    const node = this.graph.addNode(opType, inputs, outputs);
    node.name = options.name ?? '';
    node.domain = options.domain ?? '';
    setAttributes(node, options.attributes ?? {});
    return node;
  }

  /** A node of one output, which it returns. */
  op(opType: string, inputs: (Value | null)[], attributes: Attributes = {}): Value {
    return this.node(opType, inputs, { attributes }).outputs[0]!;
  }

  /** Make `v` a graph output, renamed to `name` when given. */
  output(v: Value, name?: string): Value {
    if (name !== undefined && name !== v.name) this.graph.rename(v, name);
    this.graph.outputs.push(v);
    return v;
  }

  /** The model of this graph, importing the default domain at `opset`. */
  model(opset: number, fields: Partial<Pick<Model, 'irVersion' | 'producerName'>> = {}): Model {
    const model = new Model(this.graph);
    model.opsetImports = [{ domain: '', version: opset }];
    Object.assign(model, fields);
    return model;
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}${this.count++}`;
    while (this.graph.lookup(name));
    return name;
  }
}
