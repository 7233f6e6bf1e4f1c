import { float, floats, GraphBuilder, setAttributes, type Attributes, type AttributeValue } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model, Value } from '../src/ir/graph.js';
import { Tensor, makeTensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import type { Feeds } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';

/** The newest ai.onnx opset that each IR version can import. */
const OPSET_OF_IR: Record<number, number> = { 3: 6, 4: 9, 5: 10, 6: 11, 7: 14, 8: 18, 9: 20, 10: 22 };

/**
 * `y = x + w` for a float[4] input `x`, written as IR version `irVersion`. From IR 9 on, `w`
 * is decoded from an initializer of a type that IR version introduced (float8, then int4),
 * and from IR 10 on the node and graph carry metadata_props, so those fields are exercised.
 */
export function tinyModelOfIrVersion(irVersion: number): Model {
  const opset = OPSET_OF_IR[irVersion];
  if (opset === undefined) throw new Error(`no tiny model for IR version ${irVersion}`);
  const graph = new Graph();
  graph.name = `tiny_ir${irVersion}`;
  const x = typedValue(graph, 'x');
  graph.inputs.push(x);
  const y = typedValue(graph, 'y');
  graph.outputs.push(y);
  graph.addNode('Add', [x, weightOfIrVersion(graph, irVersion)], [y]);
  const model = new Model(graph);
  model.irVersion = irVersion;
  model.opsetImports = [{ domain: '', version: opset }];
  model.producerName = 'otoc-test';
  return model;
}

function weightOfIrVersion(graph: Graph, irVersion: number): Value {
  if (irVersion >= 10) {
    // int4 is two values per byte, low nibble first: [1, -2, 3, -8] scaled by 0.5.
    const packed = constant(graph, makeTensor('w_int4', DataType.INT4, [4], Uint8Array.of(0xe1, 0x83)));
    const scale = constant(graph, makeTensor('w_scale', DataType.FLOAT, [], Float32Array.of(0.5)));
    const w = graph.ensureValue('w');
    const node = graph.addNode('DequantizeLinear', [packed, scale], [w]);
    node.metadataProps = [{ key: 'origin', value: 'int4 weight' }];
    graph.metadataProps = [{ key: 'purpose', value: 'IR 10 round trip' }];
    return w;
  }
  if (irVersion === 9) {
    // float8e4m3fn codes of [1, 2, -1, 0].
    const f8 = constant(graph, makeTensor('w_f8', DataType.FLOAT8E4M3FN, [4], Uint8Array.of(0x38, 0x40, 0xb8, 0x00)));
    const w = graph.ensureValue('w');
    setAttributes(graph.addNode('Cast', [f8], [w]), { to: DataType.FLOAT });
    return w;
  }
  return constant(graph, makeTensor('w', DataType.FLOAT, [4], Float32Array.of(1, 2, -1, 0)));
}

function typedValue(graph: Graph, name: string): Value {
  const v = graph.ensureValue(name);
  v.type = tensorType(DataType.FLOAT, [4]);
  return v;
}

function constant(graph: Graph, tensor: Tensor): Value {
  const v = graph.ensureValue(tensor.name);
  graph.addInitializer(v, tensor);
  return v;
}

/** The one feed set that tiny models take. */
export function tinyModelFeeds(): Feeds[] {
  return [{ x: makeTensor('x', DataType.FLOAT, [4], Float32Array.of(0.25, -3, 7.5, Number.NaN)) }];
}

/** Attribute values for OpModel.node, spelled by their ONNX types (src/ir/build.ts types them). */
export const attr = {
  int: (value: number): AttributeValue => value,
  ints: (value: number[]): AttributeValue => value,
  float,
  floats,
  str: (value: string): AttributeValue => value,
};

/**
 * A model of a few nodes built with the IR, for testing single ops (opset `opset`, IR 10):
 * graph inputs, float weights drawn from N(0, scale²) with a seeded PRNG, constants (as
 * initializers or Constant nodes), nodes, and outputs typed float32 of unknown shape.
 */
export class OpModel {
  private readonly b = new GraphBuilder();
  readonly graph = this.b.graph;
  readonly model: Model;
  private readonly rng: Rng;
  private count = 0;

  constructor(opset: number, seed = 0) {
    this.model = this.b.model(opset, { irVersion: 10, producerName: 'otoc-test' });
    this.graph.name = 'op_model';
    this.rng = new Rng(seed);
  }

  input(name: string, shape: (number | string)[], elemType: DataType = DataType.FLOAT): Value {
    return this.b.input(name, elemType, shape);
  }

  /** A float initializer with values from N(0, scale²), or `offset` + that. */
  weight(name: string, dims: number[], scale = 1, offset = 0): Value {
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => offset + scale * this.rng.normal());
    return this.b.constant(DataType.FLOAT, dims, data, name);
  }

  /** An initializer holding `values` (float32 unless `dataType` says otherwise; INT64 as bigints). */
  constant(name: string, dims: number[], values: number[], dataType: DataType = DataType.FLOAT): Value {
    return this.b.constant(dataType, dims, typedArray(dataType, values), name);
  }

  /** The output of a Constant node holding `values`, as exporters that keep weights in nodes write them. */
  constantNode(name: string, dims: number[], values: number[] | Float32Array, dataType: DataType = DataType.FLOAT): Value {
    const tensor = makeTensor(name, dataType, dims, typedArray(dataType, Array.from(values)));
    return this.b.node('Constant', [], { outputs: [name], attributes: { value: { type: 'tensor', value: tensor } } }).outputs[0]!;
  }

  /** Random values of N(0, scale²) for a feed or a Constant node. */
  normal(length: number, scale = 1): Float32Array {
    return Float32Array.from({ length }, () => scale * this.rng.normal());
  }

  /** Appends a node; returns its outputs (`outputs` of them). */
  nodes(opType: string, inputs: (Value | null)[], attributes: Attributes = {}, outputs = 1): Value[] {
    const name = `${opType.toLowerCase()}${++this.count}`;
    const names = Array.from({ length: outputs }, (_, i) => `${name}_out${i}`);
    return this.b.node(opType, inputs, { name, outputs: names, attributes }).outputs as Value[];
  }

  /** Appends a node with one output and returns it. */
  node(opType: string, inputs: (Value | null)[], attributes: Attributes = {}): Value {
    return this.nodes(opType, inputs, attributes)[0];
  }

  /** Marks `values` as the graph outputs and returns the model. */
  finish(...values: Value[]): Model {
    for (const v of values) this.b.output(v).type ??= tensorType(DataType.FLOAT);
    return this.model;
  }
}

function typedArray(dataType: DataType, values: number[]) {
  if (dataType === DataType.INT64) return BigInt64Array.from(values.map(BigInt));
  if (dataType === DataType.INT32) return Int32Array.from(values);
  return Float32Array.from(values);
}
