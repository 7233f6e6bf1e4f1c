import { DataType } from '../ir/dtype.js';
import { attrInt } from '../ir/attributes.js';
import { formatShape } from '../ir/types.js';
import { checkInputType, checkSameTypes, checkedAxis, facts, invalidNode, sameAsInput, sameShapeAs } from './rules.js';
import { broadcastShapes, isStaticShape } from './shape-math.js';
import type { Element, OpSpec, ShapeRule } from './spec.js';
import { passNonZero, passThrough, type ChannelRule } from './channel-rules.js';
import { binaryChannels, clipChannels, preluChannels, softmaxChannels, type BinaryKind } from './channels/elementwise.js';
import { castElement, foldElementwise, onNumbers, valueFacts } from './values.js';

type Fold = (...elements: Element[]) => Element;

/**
 * Element-wise op over broadcast inputs (numpy rules since opset 7). The output type is
 * that of input `typeFrom` unless `outType` is fixed; `fold` computes known values. Inputs
 * `sameType` (all by default) must have one type, and `condition` is a bool input (Where).
 */
function broadcasting(
  options: { outType?: DataType; typeFrom?: number; fold?: Fold; sameType?: number[]; condition?: number } = {},
): ShapeRule {
  return (n) => {
    const inputs = n.node.inputs.map((_, i) => n.input(i));
    const typed = inputs[options.typeFrom ?? 0];
    if (!typed) return [undefined];
    checkSameTypes(n, options.sameType);
    if (options.condition !== undefined) checkInputType(n, options.condition, [DataType.BOOL], 'the condition');
    const elemType = options.outType ?? typed.elemType;
    // Before opset 7 broadcasting was opt-in per node (`broadcast`, `axis`); only same-shape inputs are understood.
    const legacy = n.opset < 7 && attrInt(n.node, 'broadcast', 0) !== 0;
    if (legacy || inputs.some((f) => f?.shape === undefined)) return [{ elemType }];
    const shape = broadcastShapes(inputs.map((f) => f!.shape!));
    if (!shape) throw invalidNode(n.node, `input shapes ${inputs.map((f) => formatShape(f!.shape)).join(', ')} do not broadcast`);
    const fold = options.fold;
    const value = fold && foldElementwise(inputs, shape, (...xs) => castElement(fold(...xs), elemType));
    return [isStaticShape(shape) && value ? valueFacts(elemType, shape, value) : facts(elemType, shape)];
  };
}

/** Softmax, LogSoftmax, Hardmax: the output is the input's; from opset 13 `axis` must be one of its axes. */
const softmaxLike: ShapeRule = (n) => {
  const shape = n.input(0)?.shape;
  if (shape && shape.length > 0 && n.opset >= 13) checkedAxis(n, attrInt(n.node, 'axis', -1), shape.length);
  return sameAsInput(n);
};

/** A unary op keeping type and shape, folding known values with `fn`. */
function unaryFolding(fn: (x: number) => number): ShapeRule {
  const fold = onNumbers(fn);
  return (n) => {
    const x = n.input(0);
    if (!x) return [undefined];
    const value = foldElementwise([x], x.shape, (e) => castElement(fold(e), x.elemType));
    return [isStaticShape(x.shape) && value ? valueFacts(x.elemType, x.shape, value) : facts(x.elemType, x.shape)];
  };
}

/** Ops whose output has input 0's type and shape (activations, Softmax, Clip, CumSum, Trilu). */
const SAME_TYPE_AND_SHAPE = [
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Log', 'Reciprocal', 'Round', 'Sign',
  'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh',
  'Elu', 'Selu', 'Celu', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Gelu', 'Mish',
  'ThresholdedRelu', 'Shrink', 'Softmax', 'LogSoftmax', 'Hardmax', 'Clip', 'BitwiseNot', 'Not',
  'CumSum', 'Trilu',
];

const SOFTMAX_LIKE = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);

const FOLDING_UNARY: [string, (x: number) => number][] = [
  ['Neg', (x) => -x],
  ['Abs', Math.abs],
  ['Floor', Math.floor],
  ['Ceil', Math.ceil],
  ['Sqrt', Math.sqrt],
];

const arithmetic: [string, (a: number, b: number) => number, BinaryKind][] = [
  ['Add', (a, b) => a + b, 'add'],
  ['Sub', (a, b) => a - b, 'add'],
  ['Mul', (a, b) => a * b, 'mul'],
  // Integer division truncates: castElement to the integer output type does that.
  ['Div', (a, b) => a / b, 'div'],
  ['Pow', Math.pow, 'pow'],
];

/**
 * What unary ops do to a zero channel: keep it zero (f(0) = 0), make it a non-zero constant,
 * or mix channels. Ops not listed (Log, Reciprocal: f(0) is infinite) block pruning.
 */
const UNARY_CHANNELS: Record<string, ChannelRule> = {
  ...Object.fromEntries(
    ['Relu', 'LeakyRelu', 'Tanh', 'Erf', 'Sin', 'Tan', 'Asin', 'Atan', 'Sinh', 'Asinh', 'Atanh', 'Elu', 'Selu', 'Celu',
      'HardSwish', 'Softsign', 'Gelu', 'Mish', 'ThresholdedRelu', 'Round', 'Sign', 'Neg', 'Abs', 'Floor', 'Ceil', 'Sqrt',
    ].map((op) => [op, passThrough]),
  ),
  ...Object.fromEntries(['Sigmoid', 'Exp', 'Cos', 'Acos', 'Cosh', 'Acosh', 'HardSigmoid', 'Softplus'].map((op) => [op, passNonZero])),
  Softmax: softmaxChannels,
  LogSoftmax: softmaxChannels,
  Hardmax: softmaxChannels,
  Clip: clipChannels,
};

const comparisons: [string, (a: number, b: number) => boolean][] = [
  ['Equal', (a, b) => a === b],
  ['Less', (a, b) => a < b],
  ['Greater', (a, b) => a > b],
  ['LessOrEqual', (a, b) => a <= b],
  ['GreaterOrEqual', (a, b) => a >= b],
];

/** A float initializer added is a linear layer's bias; one multiplied is a decomposed normalization's scale. */
const AFFINE_OPERANDS = new Set(['Add', 'Mul']);

/** A non-zero condition picks the first branch; a symbolic dim survives the pick (exporters build shapes with Where). */
const where: Fold = (cond, a, b) => (typeof cond === 'number' ? (cond !== 0 ? a : b) : null);

export const elementwiseOps: OpSpec[] = [
  ...SAME_TYPE_AND_SHAPE.map(
    (opType): OpSpec => ({
      opType,
      domain: '',
      infer: SOFTMAX_LIKE.has(opType) ? softmaxLike : sameAsInput,
      channels: UNARY_CHANNELS[opType],
    }),
  ),
  ...FOLDING_UNARY.map(
    ([opType, fn]): OpSpec => ({ opType, domain: '', infer: unaryFolding(fn), channels: UNARY_CHANNELS[opType] }),
  ),
  { opType: 'IsNaN', domain: '', infer: sameShapeAs(DataType.BOOL) },
  { opType: 'IsInf', domain: '', infer: sameShapeAs(DataType.BOOL) },
  ...arithmetic.map(
    ([opType, fn, kind]): OpSpec => ({
      opType,
      domain: '',
      requiredInputs: opType === 'Pow' ? ['X', 'Y'] : ['A', 'B'],
      // Pow's exponent may have another type than its base.
      infer: broadcasting({ fold: onNumbers(fn), ...(opType === 'Pow' ? { sameType: [] } : {}) }),
      ...(AFFINE_OPERANDS.has(opType) ? { parameterInputs: [0, 1] } : {}),
      channels: binaryChannels(kind),
    }),
  ),
  ...comparisons.map(
    ([opType, fn]): OpSpec => ({
      opType,
      domain: '',
      requiredInputs: ['A', 'B'],
      infer: broadcasting({ outType: DataType.BOOL, fold: onNumbers((a, b) => (fn(a, b) ? 1 : 0)) }),
    }),
  ),
  { opType: 'Max', domain: '', infer: broadcasting({ fold: onNumbers(Math.max) }), channels: binaryChannels('max') },
  { opType: 'Min', domain: '', infer: broadcasting({ fold: onNumbers(Math.min) }), channels: binaryChannels('min') },
  ...['Mod', 'Sum', 'Mean', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'And', 'Or', 'Xor'].map(
    (opType): OpSpec => ({ opType, domain: '', infer: broadcasting() }),
  ),
  { opType: 'Where', domain: '', requiredInputs: ['condition', 'X', 'Y'], infer: broadcasting({ typeFrom: 1, fold: where, sameType: [1, 2], condition: 0 }) },
  // The slope broadcasts to X (unidirectionally); it is learned. Before opset 7 a [C] slope went along axis 1.
  {
    opType: 'PRelu',
    domain: '',
    infer: (n) => (n.opset < 7 ? sameAsInput(n) : broadcasting()(n)),
    parameterInputs: [1],
    channels: preluChannels,
  },
  {
    opType: 'Dropout',
    domain: '',
    infer: (n) => {
      const x = n.input(0);
      if (!x) return [undefined, undefined];
      // The mask is bool from opset 10 on; before, it had the type of the data.
      return [facts(x.elemType, x.shape), facts(n.opset >= 10 ? DataType.BOOL : x.elemType, x.shape)];
    },
    channels: passThrough,
  },
];
