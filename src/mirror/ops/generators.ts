/** tfjs kernels of ops that create tensors: Constant, ConstantOfShape, Range. */
import * as tf from '@tensorflow/tfjs';
import { DataType } from '../../ir/dtype.js';
import { attrFloat, attrFloats, attrInt, attrInts, attrTensor } from '../../ir/attributes.js';
import type { Node } from '../../ir/graph.js';
import { makeTensor, type Tensor } from '../../ir/tensor.js';
import { TfjsRule, TfjsRules, acceptAttributes, onnxOrder, tfjsType, unsupported } from './rule.js';

/** The tensor a Constant node holds, in whichever attribute it is given. */
function constantTensor(node: Node): Tensor {
  const name = node.outputs[0]?.name ?? '';
  const tensor = attrTensor(node, 'value');
  if (tensor) return tensor;
  const float = attrFloat(node, 'value_float');
  if (float !== undefined) return makeTensor(name, DataType.FLOAT, [], Float32Array.of(float));
  const floats = attrFloats(node, 'value_floats');
  if (floats) return makeTensor(name, DataType.FLOAT, [floats.length], Float32Array.from(floats));
  const int = attrInt(node, 'value_int');
  if (int !== undefined) return makeTensor(name, DataType.INT64, [], BigInt64Array.of(BigInt(int)));
  const ints = attrInts(node, 'value_ints');
  if (ints) return makeTensor(name, DataType.INT64, [ints.length], BigInt64Array.from(ints.map(BigInt)));
  throw unsupported(node, 'a sparse or string constant');
}

const constantTfjs: TfjsRule = (n, build) => {
  acceptAttributes(n.node, ['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);
  const tensor = build.constant(constantTensor(n.node));
  return () => [onnxOrder(tensor)];
};

/** A tensor of the shape in input 0, filled with the one element of `value` (default float 0). */
const constantOfShapeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['value']);
  const fill = attrTensor(n.node, 'value');
  const dtype = fill ? tfjsType(fill.dataType) : 'float32';
  if (!dtype) throw unsupported(n.node, `a fill value of data type ${fill?.dataType}`);
  const value = fill ? Number((fill.data as ArrayLike<number | bigint>)[0]) : 0;
  return (ctx) => [onnxOrder(tf.fill(ctx.values(0), value, dtype))];
};

/** start, start + delta, … up to (not including) limit. */
const rangeTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => ctx.values(i)[0]);
    return [onnxOrder(tf.range(start, limit, delta, ctx.input(0).dtype === 'int32' ? 'int32' : 'float32'))];
  };
};

/** The tfjs rules of Constant, ConstantOfShape and Range, by op type. */
export const generatorRules: TfjsRules = {
  Constant: constantTfjs,
  ConstantOfShape: constantOfShapeTfjs,
  Range: rangeTfjs,
};
