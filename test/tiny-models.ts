import { setAttributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model, Value } from '../src/ir/graph.js';
import { Tensor, makeTensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import type { Feeds } from '../src/runtime/ort.js';

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
