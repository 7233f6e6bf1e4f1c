import { DataType } from '../../ir/dtype.js';
import { Graph, Model, type Value } from '../../ir/graph.js';
import { makeTensor } from '../../ir/tensor.js';
import { tensorType, type Shape } from '../../ir/types.js';
import { encodeModel } from '../../onnx/write.js';

type AttrValue = number | number[];

/** A small ONNX graph under construction, for a kernel run on onnxruntime: float inputs, int64 constants, one output `y`. */
export class KernelGraph {
  private readonly graph = new Graph();
  private count = 0;

  input(name: string, dims: Shape): Value {
    const v = this.graph.ensureValue(name);
    v.type = tensorType(DataType.FLOAT, dims);
    this.graph.inputs.push(v);
    return v;
  }

  int64s(values: number[]): Value {
    const v = this.graph.ensureValue(`const${this.count++}`);
    this.graph.addInitializer(v, makeTensor(v.name, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt))));
    return v;
  }

  op(opType: string, inputs: Value[], attrs: Record<string, AttrValue> = {}): Value {
    const out = this.graph.ensureValue(`t${this.count++}`);
    const node = this.graph.addNode(opType, inputs, [out]);
    for (const [name, value] of Object.entries(attrs)) {
      node.attributes.set(
        name,
        Array.isArray(value) ? { name, type: 'ints', value: value.map(BigInt) } : { name, type: 'int', value: BigInt(value) },
      );
    }
    return out;
  }

  transpose(x: Value, perm: number[]): Value {
    return this.op('Transpose', [x], { perm });
  }

  reshape(x: Value, dims: number[]): Value {
    return this.op('Reshape', [x, this.int64s(dims)]);
  }

  /** The encoded model with `y` as its output. */
  finish(y: Value): Uint8Array {
    this.graph.rename(y, 'y');
    this.graph.outputs.push(y);
    const model = new Model(this.graph);
    model.irVersion = 8;
    model.opsetImports = [{ domain: '', version: 17 }];
    return encodeModel(model).model;
  }
}
