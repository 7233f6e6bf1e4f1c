/**
 * Hand-built models that break the ONNX spec, one rule each, across the op families of the op
 * table (and the file-level rules around them). onnxruntime refuses every one of them, at load
 * or when it runs; invalid-models.test.ts checks that, and that otoc refuses each before any work.
 */
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import type { Tensor } from '../src/ir/tensor.js';
import { absent, constant, constantTensor, input, ints, oneNodeModel, type OneNode } from './one-node.js';

export interface InvalidCase {
  name: string;
  build: () => Model;
  /** What otoc's one-line message must say. */
  expected: RegExp;
}

const F = DataType.FLOAT;
const I64 = DataType.INT64;
const X4 = input([1, 3, 8, 8]);
const W = constant([4, 3, 3, 3]);
const NODE = /node \w+ 'node'/;

/** A case whose one node breaks a rule: the message names the node. */
function node(name: string, spec: OneNode, detail?: RegExp): InvalidCase {
  return { name, build: () => oneNodeModel(spec), expected: detail ? new RegExp(`${NODE.source}: .*${detail.source}`) : NODE };
}

/** A case about the model or a tensor rather than one node. */
function model(name: string, build: () => Model, expected: RegExp): InvalidCase {
  return { name, build, expected };
}

const rawTensor = (dataType: DataType, dims: number[], data: Tensor['data'], kind: 'raw' | 'field' = 'raw'): Omit<Tensor, 'name'> => ({
  dataType,
  dims,
  data,
  storage: { kind },
});

const conv: InvalidCase[] = [
  node('Conv group 0', { op: 'Conv', inputs: [X4, W], attributes: { group: 0 } }, /group must be at least 1/),
  node('Conv without W', { op: 'Conv', inputs: [X4] }, /W \(input 1\) is missing/),
  node('Conv negative group', { op: 'Conv', inputs: [X4, W], attributes: { group: -1 } }, /group/),
  node('Conv group not dividing the output channels', { op: 'Conv', inputs: [input([1, 4, 8, 8]), constant([6, 1, 3, 3])], attributes: { group: 4 } }),
  node('Conv stride 0', { op: 'Conv', inputs: [X4, W], attributes: { strides: [0, 1] } }, /strides/),
  node('Conv negative stride', { op: 'Conv', inputs: [X4, W], attributes: { strides: [1, -2] } }, /strides/),
  node('Conv dilation 0', { op: 'Conv', inputs: [X4, W], attributes: { dilations: [0, 1] } }, /dilations/),
  node('Conv negative pad', { op: 'Conv', inputs: [X4, W], attributes: { pads: [-1, 0, 0, 0] } }, /pads/),
  node('Conv pads of the wrong length', { op: 'Conv', inputs: [X4, W], attributes: { pads: [1, 1] } }, /pads/),
  node('Conv strides of the wrong length', { op: 'Conv', inputs: [X4, W], attributes: { strides: [1, 1, 1] } }, /strides/),
  node('Conv weight input channels do not match X', { op: 'Conv', inputs: [X4, constant([4, 2, 3, 3])] }, /channels/),
  node('Conv X channels not group × W channels', { op: 'Conv', inputs: [input([1, 6, 8, 8]), constant([4, 2, 3, 3])], attributes: { group: 2 } }, /channels/),
  node('Conv weight rank differs from X', { op: 'Conv', inputs: [X4, constant([4, 3, 3])] }, /rank/),
  node('Conv X of rank 2', { op: 'Conv', inputs: [input([1, 3]), constant([4, 3])] }, /rank/),
  node('Conv bias of the wrong size', { op: 'Conv', inputs: [X4, W, constant([5])] }, /B has shape/),
  node('Conv bias of rank 2', { op: 'Conv', inputs: [X4, W, constant([4, 1])] }, /B has shape/),
  node('Conv kernel larger than the input', { op: 'Conv', inputs: [input([1, 3, 2, 2]), W] }, /does not fit/),
  node('Conv kernel_shape disagrees with W', { op: 'Conv', inputs: [X4, W], attributes: { kernel_shape: [5, 5] } }, /kernel_shape/),
  node('Conv kernel_shape of 0', { op: 'Conv', inputs: [X4, constant([4, 3, 0, 3])], attributes: {} }, /kernel_shape/),
  node('Conv unknown auto_pad', { op: 'Conv', inputs: [X4, W], attributes: { auto_pad: 'MIRROR' } }, /auto_pad/),
  node('Conv int32 input', { op: 'Conv', inputs: [input([1, 3, 8, 8], DataType.INT32), constant([4, 3, 3, 3], undefined, DataType.INT32)] }, /X is int32/),
  node('Conv weight of another type', { op: 'Conv', inputs: [X4, constant([4, 3, 3, 3], undefined, DataType.DOUBLE)] }, /same type/),
  node(
    'Conv weight of string type',
    { op: 'Conv', inputs: [X4, constantTensor(rawTensor(DataType.STRING, [4, 3, 3, 3], Array.from({ length: 108 }, () => Buffer.from('w')), 'field'))] },
    /same type/,
  ),
  node('Conv int64 weight', { op: 'Conv', inputs: [X4, constant([4, 3, 3, 3], undefined, I64)] }, /same type/),
  node('ConvTranspose stride 0', { op: 'ConvTranspose', inputs: [X4, constant([3, 4, 3, 3])], attributes: { strides: [0, 0] } }, /strides/),
  node('ConvTranspose weight channels do not match X', { op: 'ConvTranspose', inputs: [X4, constant([5, 4, 3, 3])] }, /channels/),
  node('ConvTranspose output_padding of the wrong length', { op: 'ConvTranspose', inputs: [X4, constant([3, 4, 3, 3])], attributes: { output_padding: [1] } }, /output_padding/),
  node('ConvTranspose bias of the wrong size', { op: 'ConvTranspose', inputs: [X4, constant([3, 4, 3, 3]), constant([3])] }, /B has shape/),
];

const pooling: InvalidCase[] = [
  node('MaxPool without kernel_shape', { op: 'MaxPool', inputs: [X4] }, /kernel_shape is required/),
  node('MaxPool pad of 2^31', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2, 2], pads: [2 ** 31, 0, 0, 0] } }, /pads/),
  node('MaxPool pad not smaller than the kernel', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2, 2], pads: [2, 0, 0, 0] } }, /pads/),
  node('MaxPool stride 0', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2, 2], strides: [0, 1] } }, /strides/),
  node('MaxPool kernel_shape of the wrong length', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2] } }, /kernel_shape/),
  node('MaxPool kernel 0', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [0, 2] } }, /kernel_shape/),
  node('MaxPool negative pad', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2, 2], pads: [0, -1, 0, 0] } }, /pads/),
  node('MaxPool dilation 0', { op: 'MaxPool', inputs: [X4], attributes: { kernel_shape: [2, 2], dilations: [0, 1] } }, /dilations/),
  node('MaxPool X of rank 2', { op: 'MaxPool', inputs: [input([3, 8])], attributes: { kernel_shape: [2] } }, /rank/),
  node('AveragePool without kernel_shape', { op: 'AveragePool', inputs: [X4] }, /kernel_shape is required/),
  node('AveragePool negative stride', { op: 'AveragePool', inputs: [X4], attributes: { kernel_shape: [2, 2], strides: [-1, 1] } }, /strides/),
  node('AveragePool unknown auto_pad', { op: 'AveragePool', inputs: [X4], attributes: { kernel_shape: [2, 2], auto_pad: 'FULL' } }, /auto_pad/),
  node('LpPool without kernel_shape', { op: 'LpPool', inputs: [X4] }, /kernel_shape is required/),
  node('GlobalAveragePool of a matrix', { op: 'GlobalAveragePool', inputs: [input([3, 8])] }, /rank/),
  node('GlobalMaxPool of a vector', { op: 'GlobalMaxPool', inputs: [input([8])] }, /rank/),
];

const C = (n: number) => constant([n]);
const normalization: InvalidCase[] = [
  node('BatchNormalization scale of the wrong size', { op: 'BatchNormalization', inputs: [X4, C(4), C(3), C(3), C(3)] }, /input 1/),
  node('BatchNormalization mean of the wrong size', { op: 'BatchNormalization', inputs: [X4, C(3), C(3), C(2), C(3)] }, /input 3/),
  node('BatchNormalization variance of rank 2', { op: 'BatchNormalization', inputs: [X4, C(3), C(3), C(3), constant([3, 1])] }, /input 4/),
  node('BatchNormalization int64 bias', { op: 'BatchNormalization', inputs: [X4, C(3), constant([3], undefined, I64), C(3), C(3)] }, /input 2 is int64/),
  node('BatchNormalization X of rank 1', { op: 'BatchNormalization', inputs: [input([3]), C(3), C(3), C(3), C(3)] }, /rank/),
  node('BatchNormalization int32 X', { op: 'BatchNormalization', inputs: [input([1, 3, 4, 4], DataType.INT32), C(3), C(3), C(3), C(3)] }, /input 0 is int32/),
  node('Add without B', { op: 'Add', inputs: [X4] }, /B \(input 1\) is missing/),
  node('Pow without Y', { op: 'Pow', inputs: [X4, absent] }, /Y \(input 1\) is missing/),
  node('Less without B', { op: 'Less', inputs: [X4] }, /B \(input 1\) is missing/),
  node('Where without Y', { op: 'Where', inputs: [input([1, 3, 4, 4], DataType.BOOL), X4] }, /Y \(input 2\) is missing/),
  node('GroupNormalization without bias', { op: 'GroupNormalization', inputs: [X4, C(3)], attributes: { num_groups: 3 }, opset: 21 }, /bias \(input 2\) is missing/),
  node('BatchNormalization without mean and variance', { op: 'BatchNormalization', inputs: [X4, C(3), C(3)] }, /input_mean \(input 3\) is missing/),
  node('BatchNormalization without scale', { op: 'BatchNormalization', inputs: [X4, absent, C(3), C(3), C(3)] }, /scale \(input 1\) is missing/),
  node('InstanceNormalization without B', { op: 'InstanceNormalization', inputs: [X4, C(3)] }, /B \(input 2\) is missing/),
  node('LayerNormalization without Scale', { op: 'LayerNormalization', inputs: [X4] }, /Scale \(input 1\) is missing/),
  node('InstanceNormalization scale of the wrong size', { op: 'InstanceNormalization', inputs: [X4, C(5), C(3)] }, /input 1/),
  node('InstanceNormalization X of rank 2', { op: 'InstanceNormalization', inputs: [input([1, 3]), C(3), C(3)] }, /rank/),
  node('LayerNormalization axis beyond the rank', { op: 'LayerNormalization', inputs: [X4, constant([8]), constant([8])], attributes: { axis: 4 } }, /axis 4/),
];

const matmul: InvalidCase[] = [
  node('MatMul inner dims differ', { op: 'MatMul', inputs: [input([2, 3]), constant([4, 5])] }, /inner dims 3 and 4/),
  node('MatMul batch dims do not broadcast', { op: 'MatMul', inputs: [input([2, 3, 4]), constant([5, 4, 6])] }, /batch dims/),
  node('MatMul of a scalar', { op: 'MatMul', inputs: [input([]), constant([3, 4])] }, /rank/),
  node('MatMul without B', { op: 'MatMul', inputs: [input([2, 3])] }, /B \(input 1\) is missing/),
  node('Gemm without B', { op: 'Gemm', inputs: [input([2, 3])] }, /B \(input 1\) is missing/),
  node('MatMul float by int64', { op: 'MatMul', inputs: [input([2, 3]), constant([3, 4], undefined, I64)] }, /same type/),
  node('Gemm inner dims differ', { op: 'Gemm', inputs: [input([2, 3]), constant([4, 5])] }, /K = 3.*K = 4/),
  node('Gemm inner dims differ once B is transposed', { op: 'Gemm', inputs: [input([2, 3]), constant([3, 5])], attributes: { transB: 1 } }, /K = 3.*K = 5/),
  node('Gemm A of rank 3', { op: 'Gemm', inputs: [input([2, 3, 4]), constant([4, 5])] }, /input 0/),
  node('Gemm B of rank 1', { op: 'Gemm', inputs: [input([2, 3]), constant([3])] }, /input 1/),
  node('Gemm C that does not broadcast', { op: 'Gemm', inputs: [input([2, 3]), constant([3, 4]), constant([3])] }, /C of shape/),
  node('Gemm float by double', { op: 'Gemm', inputs: [input([2, 3]), constant([3, 4], undefined, DataType.DOUBLE)] }, /same type/),
];

/** LSTM, GRU, RNN with X [seq 2, batch 1, input 3] and hidden size 4, unless a case changes it. */
function recurrent(op: string, gates: number, attributes: OneNode['attributes'], shapes: { w?: number[]; r?: number[]; b?: number[] } = {}): OneNode {
  const h = 4;
  return {
    op,
    inputs: [input([2, 1, 3]), constant(shapes.w ?? [1, gates * h, 3]), constant(shapes.r ?? [1, gates * h, h]), constant(shapes.b ?? [1, 2 * gates * h])],
    attributes: { hidden_size: h, ...attributes },
    outputs: 3,
  };
}

const rnn: InvalidCase[] = [
  node('LSTM hidden_size disagrees with W (415,321 instead of 4)', recurrent('LSTM', 4, { hidden_size: 415321 }), /hidden_size 415321/),
  node('LSTM hidden_size 0', recurrent('LSTM', 4, { hidden_size: 0 }), /hidden_size/),
  node('LSTM W of the wrong input size', recurrent('LSTM', 4, {}, { w: [1, 16, 5] }), /W has shape/),
  node('LSTM R of the wrong size', recurrent('LSTM', 4, {}, { r: [1, 16, 3] }), /R has shape/),
  node('LSTM B of the wrong size', recurrent('LSTM', 4, {}, { b: [1, 16] }), /B has shape/),
  node('LSTM unknown direction', recurrent('LSTM', 4, { direction: 'sideways' }), /direction/),
  node('LSTM bidirectional with one direction of weights', recurrent('LSTM', 4, { direction: 'bidirectional' }), /W has shape/),
  node('LSTM X of rank 2', { ...recurrent('LSTM', 4, {}), inputs: [input([2, 3]), ...recurrent('LSTM', 4, {}).inputs.slice(1)] }, /X has shape/),
  node('LSTM layout 2', recurrent('LSTM', 4, { layout: 2 }), /layout/),
  node('GRU hidden_size disagrees with W', recurrent('GRU', 3, { hidden_size: 5 }), /hidden_size 5/),
  node('GRU W with LSTM gates', recurrent('GRU', 3, {}, { w: [1, 16, 3] }), /W has shape/),
  node('RNN hidden_size disagrees with R', recurrent('RNN', 1, {}, { r: [1, 4, 5] }), /R has shape/),
];

const reduce: InvalidCase[] = [
  node('ReduceMean axis beyond the rank', { op: 'ReduceMean', inputs: [X4], attributes: { axes: [4] } }, /axis 4/),
  node('ReduceL2 axis beyond the rank', { op: 'ReduceL2', inputs: [X4], attributes: { axes: [9] } }, /axis 9/),
  node('ReduceSum axis input beyond the rank', { op: 'ReduceSum', inputs: [X4, ints([-5])] }, /axis -5/),
  node('ReduceMax negative axis beyond the rank', { op: 'ReduceMax', inputs: [X4], attributes: { axes: [0, -5] } }, /axis -5/),
  node('ArgMax axis beyond the rank', { op: 'ArgMax', inputs: [X4], attributes: { axis: 7 } }, /axis 7/),
  node('ArgMin negative axis beyond the rank', { op: 'ArgMin', inputs: [X4], attributes: { axis: -5 } }, /axis -5/),
  node('TopK k larger than the axis', { op: 'TopK', inputs: [X4, ints([9])], outputs: 2 }, /k = 9/),
  node('TopK negative k', { op: 'TopK', inputs: [X4, ints([-1])], outputs: 2 }, /k = -1/),
  node('TopK axis beyond the rank', { op: 'TopK', inputs: [X4, ints([1])], attributes: { axis: 4 }, outputs: 2 }, /axis 4/),
];

const elementwise: InvalidCase[] = [
  node('Add of shapes that do not broadcast', { op: 'Add', inputs: [input([2, 3]), constant([4])] }, /do not broadcast/),
  node('Mul of shapes that do not broadcast', { op: 'Mul', inputs: [input([2, 3, 4]), constant([2, 1])] }, /do not broadcast/),
  node('Sub of float and int64', { op: 'Sub', inputs: [input([2, 3]), constant([3], undefined, I64)] }, /same type/),
  node('Div of float and double', { op: 'Div', inputs: [input([3]), constant([3], undefined, DataType.DOUBLE)] }, /same type/),
  node('Max of float and int32', { op: 'Max', inputs: [input([3]), constant([3], undefined, DataType.INT32)] }, /same type/),
  node('Min of shapes that do not broadcast', { op: 'Min', inputs: [input([2]), constant([3])] }, /do not broadcast/),
  node('Equal of float and int64', { op: 'Equal', inputs: [input([3]), constant([3], undefined, I64)] }, /same type/),
  node('Less of shapes that do not broadcast', { op: 'Less', inputs: [input([5]), constant([4])] }, /do not broadcast/),
  node('Where with a float condition', { op: 'Where', inputs: [input([3]), constant([3]), constant([3])] }, /condition/),
  node('Where of branches of different types', { op: 'Where', inputs: [input([3], DataType.BOOL), constant([3]), constant([3], undefined, I64)] }, /same type/),
  node('Where of shapes that do not broadcast', { op: 'Where', inputs: [input([3], DataType.BOOL), constant([2]), constant([3])] }, /do not broadcast/),
  node('PRelu slope that does not broadcast', { op: 'PRelu', inputs: [X4, constant([5])] }, /do not broadcast/),
  node('Softmax axis beyond the rank', { op: 'Softmax', inputs: [X4], attributes: { axis: 4 } }, /axis 4/),
  node('LogSoftmax axis beyond the rank', { op: 'LogSoftmax', inputs: [X4], attributes: { axis: -5 } }, /axis -5/),
  node('Sum of shapes that do not broadcast', { op: 'Sum', inputs: [input([2]), constant([3]), constant([3])] }, /do not broadcast/),
  node('And of bool and int32', { op: 'And', inputs: [input([2], DataType.BOOL), constant([2], undefined, DataType.INT32)] }, /same type/),
];

const shapes: InvalidCase[] = [
  node('Reshape to a shape of another size', { op: 'Reshape', inputs: [X4, ints([5, 7])] }, /cannot hold the 192 elements/),
  node('Reshape with two -1', { op: 'Reshape', inputs: [X4, ints([-1, -1])] }, /more than one -1/),
  node('Reshape with -2', { op: 'Reshape', inputs: [X4, ints([-2, 96])] }, /-2/),
  node('Reshape -1 that does not divide', { op: 'Reshape', inputs: [X4, ints([-1, 7])] }, /cannot hold/),
  node('Reshape copying a dim beyond the rank', { op: 'Reshape', inputs: [input([2, 3]), ints([0, 0, 0])] }, /copies dim 2/),
  node('Reshape with an int32 target', { op: 'Reshape', inputs: [X4, constant([2], [2, 96], DataType.INT32)] }, /the shape is int32/),
  node('Reshape allowzero with 0 and -1', { op: 'Reshape', inputs: [X4, ints([0, -1])], attributes: { allowzero: 1 }, opset: 14 }, /allowzero/),
  node('Flatten axis beyond the rank', { op: 'Flatten', inputs: [X4], attributes: { axis: 5 } }, /axis 5/),
  node('Transpose perm that repeats an axis', { op: 'Transpose', inputs: [X4], attributes: { perm: [0, 0, 1, 2] } }, /perm \[0,0,1,2\]/),
  node('Transpose perm too short', { op: 'Transpose', inputs: [X4], attributes: { perm: [0, 1, 2] } }, /perm/),
  node('Transpose perm with an axis beyond the rank', { op: 'Transpose', inputs: [X4], attributes: { perm: [0, 1, 2, 29] } }, /perm/),
  node('Squeeze of an axis that is not 1', { op: 'Squeeze', inputs: [X4, ints([1])] }, /axis 1, whose size is 3/),
  node('Squeeze axis beyond the rank', { op: 'Squeeze', inputs: [X4, ints([4])] }, /axes/),
  node('Unsqueeze without axes', { op: 'Unsqueeze', inputs: [X4] }, /axes are required/),
  node('Unsqueeze axis beyond the new rank', { op: 'Unsqueeze', inputs: [X4, ints([5])] }, /axes/),
  node('Unsqueeze repeated axis', { op: 'Unsqueeze', inputs: [X4, ints([0, 0])] }, /axes/),
  node('Pad with pads of the wrong length', { op: 'Pad', inputs: [X4, ints([1, 1])] }, /pads/),
  node('Pad that leaves a negative size', { op: 'Pad', inputs: [X4, ints([0, 0, -5, 0, 0, 0, -5, 0])] }, /dims must be whole numbers ≥ 0/),
  node('Pad with an unknown mode', { op: 'Pad', inputs: [X4, ints([0, 0, 1, 1, 0, 0, 1, 1])], attributes: { mode: 'mirror' } }, /mode 'mirror'/),
  node('Tile with repeats of the wrong length', { op: 'Tile', inputs: [X4, ints([2, 2])] }, /repeats/),
  node('Tile with a negative repeat', { op: 'Tile', inputs: [X4, ints([1, 1, -1, 1])] }, /repeats/),
  node('Expand to a shape that does not broadcast', { op: 'Expand', inputs: [X4, ints([1, 4, 8, 8])] }, /does not broadcast/),
  node('Expand of a constant to a negative dim', { op: 'Expand', inputs: [constant([1]), ints([2, -3])] }, /negative dim/),
  node('DepthToSpace blocksize 0', { op: 'DepthToSpace', inputs: [input([1, 4, 2, 2])], attributes: { blocksize: 0 } }, /blocksize/),
  node('DepthToSpace channels not a multiple of blocksize²', { op: 'DepthToSpace', inputs: [input([1, 6, 2, 2])], attributes: { blocksize: 2 } }, /blocks of 2/),
  node('DepthToSpace of rank 3', { op: 'DepthToSpace', inputs: [input([4, 2, 2])], attributes: { blocksize: 2 } }, /rank 3/),
  node('SpaceToDepth size not a multiple of blocksize', { op: 'SpaceToDepth', inputs: [input([1, 2, 5, 4])], attributes: { blocksize: 2 } }, /blocks of 2/),
  node('Cast to an unknown type', { op: 'Cast', inputs: [X4], attributes: { to: 99 } }, /'to' must name a data type/),
  node('Cast without to', { op: 'Cast', inputs: [X4] }, /'to'/),
];

const indexing: InvalidCase[] = [
  node('Concat axis beyond the rank', { op: 'Concat', inputs: [X4, constant([1, 3, 8, 8])], attributes: { axis: 4 } }, /axis 4/),
  node('Concat of different ranks', { op: 'Concat', inputs: [X4, constant([3, 8, 8])], attributes: { axis: 1 } }, /different ranks/),
  node('Concat of shapes that differ off the axis', { op: 'Concat', inputs: [X4, constant([1, 3, 7, 8])], attributes: { axis: 1 } }, /differ on axis 2/),
  node('Concat of float and int64', { op: 'Concat', inputs: [input([2]), constant([2], undefined, I64)], attributes: { axis: 0 } }, /same type/),
  node('Split sizes that do not add up', { op: 'Split', inputs: [X4, ints([1, 1])], attributes: { axis: 1 }, outputs: 2 }, /split sizes/),
  node('Split with a negative size', { op: 'Split', inputs: [X4, ints([4, -1])], attributes: { axis: 1 }, outputs: 2 }, /split sizes/),
  node('Split into parts that do not divide', { op: 'Split', inputs: [X4], attributes: { axis: 1 }, outputs: 2 }, /split sizes/),
  node('Split sizes for fewer outputs', { op: 'Split', inputs: [X4, ints([1, 2])], attributes: { axis: 1 }, outputs: 3 }, /split sizes/),
  node('Split axis beyond the rank', { op: 'Split', inputs: [X4], attributes: { axis: 4 }, outputs: 2 }, /axis 4/),
  node('Slice with a step of 0', { op: 'Slice', inputs: [X4, ints([0]), ints([4]), ints([2]), ints([0])] }, /steps/),
  node('Slice axis beyond the rank', { op: 'Slice', inputs: [X4, ints([0]), ints([4]), ints([4])] }, /axes/),
  node('Slice repeated axis', { op: 'Slice', inputs: [X4, ints([0, 0]), ints([4, 4]), ints([2, 2])] }, /axes/),
  node('Slice starts and ends of different lengths', { op: 'Slice', inputs: [X4, ints([0, 0]), ints([4])] }, /different lengths/),
  node('Gather axis beyond the rank', { op: 'Gather', inputs: [X4, ints([0])], attributes: { axis: 4 } }, /axis 4/),
  node('Gather index beyond the axis', { op: 'Gather', inputs: [X4, ints([3])], attributes: { axis: 1 } }, /index 3/),
  node('Gather with float indices', { op: 'Gather', inputs: [X4, constant([1])], attributes: { axis: 1 } }, /the indices is float32/),
];

const generators: InvalidCase[] = [
  node('Constant without a value', { op: 'Constant', inputs: [] }, /exactly one/),
  node('ConstantOfShape with a negative dim', { op: 'ConstantOfShape', inputs: [ints([2, -3])] }, /negative dim/),
  node('ConstantOfShape of 2^42 elements', { op: 'ConstantOfShape', inputs: [ints([2 ** 21, 2 ** 21])] }, /more than otoc's limit/),
  node('ConstantOfShape with a value of two elements', { op: 'ConstantOfShape', inputs: [ints([2, 3])], attributes: { value: { tensor: rawTensor(F, [2], Float32Array.of(1, 2)) } } }, /one element/),
  node('ConstantOfShape with a float shape', { op: 'ConstantOfShape', inputs: [constant([2], [2, 3])] }, /the shape is float32/),
  node('Range with delta 0', { op: 'Range', inputs: [constant([], [0]), constant([], [5]), constant([], [0])] }, /delta/),
  node('Range of mixed types', { op: 'Range', inputs: [constant([], [0]), constant([], [5], I64), constant([], [1])] }, /same type/),
  node('EyeLike of a vector', { op: 'EyeLike', inputs: [input([4])] }, /matrix/),
];

const resize: InvalidCase[] = [
  node('Resize with a scale of 0', { op: 'Resize', inputs: [X4, absent, constant([4], [1, 1, 0, 2])] }, /scales/),
  node('Resize with negative scales', { op: 'Resize', inputs: [X4, absent, constant([4], [1, 1, -2, 2])] }, /scales/),
  node('Resize with scales of the wrong length', { op: 'Resize', inputs: [X4, absent, constant([2], [2, 2])] }, /scales/),
  node('Resize with sizes of the wrong length', { op: 'Resize', inputs: [X4, absent, absent, ints([16, 16])] }, /sizes/),
  node('Resize with scales and sizes', { op: 'Resize', inputs: [X4, absent, constant([4], [1, 1, 2, 2]), ints([1, 3, 16, 16])] }, /both scales and sizes/),
  node('Resize with an unknown mode', { op: 'Resize', inputs: [X4, absent, constant([4], [1, 1, 2, 2])], attributes: { mode: 'bicubic' } }, /mode 'bicubic'/),
];

/** A float[4] Relu model, edited by `edit`. */
function edited(edit: (m: Model) => void): () => Model {
  return () => {
    const m = oneNodeModel({ op: 'Relu', inputs: [input([4])] });
    edit(m);
    return m;
  };
}

/** Relu → Add of a float[4] input and the initializer `tensor`. */
function withInitializer(tensor: Omit<Tensor, 'name'>): () => Model {
  return () => oneNodeModel({ op: 'Add', inputs: [input([2, 2]), constantTensor(tensor)] });
}

const files: InvalidCase[] = [
  model('opset 0', edited((m) => (m.opsetImports = [{ domain: '', version: 0 }])), /opset 0 of domain 'ai.onnx' does not exist/),
  model('a negative opset', edited((m) => (m.opsetImports = [{ domain: '', version: -3 }])), /opset -3/),
  model('an opset beyond onnxruntime', edited((m) => (m.opsetImports = [{ domain: '', version: 27 }])), /opset 27/),
  model('no ai.onnx opset', edited((m) => (m.opsetImports = [])), /imports no ai.onnx opset/),
  model('an initializer with a negative dim', withInitializer(rawTensor(F, [2, -2], new Float32Array(0))), /negative dim/),
  model('float_data holding 10 values for 432', withInitializer(rawTensor(F, [432], new Float32Array(10), 'field')), /holds 10 values in float_data, .* need 432/),
  model('one value with dims [2^20, 2^20]', withInitializer(rawTensor(F, [2 ** 20, 2 ** 20], new Float32Array(1), 'field')), /more than otoc's limit/),
  model('an initializer with no data', withInitializer(rawTensor(F, [2, 2], new Float32Array(0), 'field')), /has no data/),
  model('raw_data too short for its dims', withInitializer(rawTensor(F, [2, 2], new Float32Array(3))), /holds 12 bytes/),
  model('int64_data too long for its dims', () => oneNodeModel({ op: 'Reshape', inputs: [input([2, 2]), constantTensor(rawTensor(I64, [2], BigInt64Array.of(4n, 1n, 1n), 'field'))] }), /holds 3 values in int64_data/),
  model('a Constant int64 tensor whose data was deleted', () => oneNodeModel({ op: 'Constant', inputs: [], attributes: { value: { tensor: rawTensor(I64, [3], new BigInt64Array(0), 'field') } } }), /has no data/),
  model('a node reading a value nothing defines', edited((m) => m.graph.nodes[0].setInput(0, m.graph.ensureValue('ghost'))), /reads 'ghost', which nothing defines/),
];

export const INVALID_CASES: InvalidCase[] = [
  ...conv,
  ...pooling,
  ...normalization,
  ...matmul,
  ...rnn,
  ...reduce,
  ...elementwise,
  ...shapes,
  ...indexing,
  ...generators,
  ...resize,
  ...files,
];

/**
 * Models the spec forbids that onnxruntime-node 1.30 does not refuse cleanly: it runs them (a
 * Constant with two values, picking one of them; IR version 2) or dies on them (ConvTranspose
 * with group 0: a floating-point exception that takes the process down). otoc refuses them.
 */
export const BEYOND_ONNXRUNTIME: InvalidCase[] = [
  node('ConvTranspose group 0', { op: 'ConvTranspose', inputs: [X4, constant([3, 4, 3, 3])], attributes: { group: 0 } }, /group/),
  node('Constant with two values', { op: 'Constant', inputs: [], attributes: { value_int: 1, value_ints: [1, 2] } }, /exactly one/),
  model('IR version 2', edited((m) => (m.irVersion = 2)), /IR version 2 is not supported/),
];
