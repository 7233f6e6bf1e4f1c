/** tfjs kernels of element-wise ops: activations, arithmetic, comparisons, Clip, Softmax, Dropout. */
import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt, attrString } from '../../ir/attributes.js';
import { relu } from '../../tfjs/relu.js';
import type { NodeFacts } from '../../ops/spec.js';
import { TfjsContext, TfjsRule, TfjsRules, acceptAttributes, axisIn, broadcastOrder, heldAxis, held, onnxOrder, unsupported } from './rule.js';

/** An op on each element: the output keeps the input's axis order. `make` reads the attributes once. */
function perElement(attributes: readonly string[], make: (n: NodeFacts) => (x: tf.Tensor) => tf.Tensor): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, attributes);
    const fn = make(n);
    return (ctx) => {
      const order = ctx.order(0);
      return [held(fn(ctx.input(0, order)), order)];
    };
  };
}

const simple = (fn: (x: tf.Tensor) => tf.Tensor): TfjsRule => perElement([], () => fn);

/** max(0, min(1, alpha·x + beta)). */
function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/** x for x > 0, else alpha·(eˣ − 1). */
function elu(x: tf.Tensor, alpha: number): tf.Tensor {
  return alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.expm1(x), alpha));
}

function gelu(x: tf.Tensor, approximate: string): tf.Tensor {
  if (approximate === 'tanh') {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** ONNX integer division truncates toward zero; tfjs divides int32 by flooring. */
function divide(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.dtype !== 'int32') return tf.div(a, b);
  const q = tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
  return tf.cast(tf.mul(tf.sign(q), tf.floor(tf.abs(q))), 'int32');
}

const UNARY: Record<string, TfjsRule> = {
  Relu: simple(relu),
  LeakyRelu: perElement(['alpha'], (n) => {
    const alpha = attrFloat(n.node, 'alpha', 0.01);
    return (x) => tf.leakyRelu(x, alpha);
  }),
  Sigmoid: simple(tf.sigmoid),
  HardSigmoid: perElement(['alpha', 'beta'], (n) => {
    const alpha = attrFloat(n.node, 'alpha', 0.2);
    const beta = attrFloat(n.node, 'beta', 0.5);
    return (x) => hardSigmoid(x, alpha, beta);
  }),
  HardSwish: simple((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Tanh: simple(tf.tanh),
  Erf: simple(tf.erf),
  Exp: simple(tf.exp),
  Log: simple(tf.log),
  Reciprocal: simple(tf.reciprocal),
  Softplus: simple(tf.softplus),
  Softsign: simple((x) => tf.div(x, tf.add(tf.abs(x), 1))),
  Sin: simple(tf.sin),
  Cos: simple(tf.cos),
  Sign: simple(tf.sign),
  Round: simple(tf.round),
  Elu: perElement(['alpha'], (n) => {
    const alpha = attrFloat(n.node, 'alpha', 1);
    return (x) => elu(x, alpha);
  }),
  Selu: perElement(['alpha', 'gamma'], (n) => {
    const alpha = attrFloat(n.node, 'alpha', 1.67326319217681884765625);
    const gamma = attrFloat(n.node, 'gamma', 1.05070102214813232421875);
    return (x) => tf.mul(elu(x, alpha), gamma);
  }),
  Gelu: perElement(['approximate'], (n) => {
    const approximate = attrString(n.node, 'approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') throw unsupported(n.node, `approximate='${approximate}'`);
    return (x) => gelu(x, approximate);
  }),
  Not: simple(tf.logicalNot),
  Neg: simple(tf.neg),
  Abs: simple(tf.abs),
  Floor: simple(tf.floor),
  Ceil: simple(tf.ceil),
  Sqrt: simple(tf.sqrt),
};

/**
 * An op over inputs broadcast against each other (numpy rules), run in the order of its
 * full-rank inputs. The pre-opset-7 `broadcast` attribute is refused as unknown.
 */
function broadcasting(fn: (...xs: tf.Tensor[]) => tf.Tensor): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, []);
    const indices = n.node.inputs.map((_, i) => i);
    return (ctx) => {
      const { order, rank } = broadcastOrder(ctx, indices);
      return [held(fn(...indices.map((i) => ctx.input(i, order, rank))), order)];
    };
  };
}

/** A variadic op (Max, Sum, ...) as a chain of its binary form. */
const variadic = (pair: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor) => broadcasting((...xs) => xs.reduce((a, b) => pair(a, b)));

const BINARY: Record<string, TfjsRule> = {
  Add: broadcasting(tf.add),
  Sub: broadcasting(tf.sub),
  Mul: broadcasting(tf.mul),
  Div: broadcasting(divide),
  Pow: broadcasting(tf.pow),
  Equal: broadcasting(tf.equal),
  Less: broadcasting(tf.less),
  Greater: broadcasting(tf.greater),
  LessOrEqual: broadcasting(tf.lessEqual),
  GreaterOrEqual: broadcasting(tf.greaterEqual),
  And: broadcasting(tf.logicalAnd),
  Or: broadcasting(tf.logicalOr),
  Xor: broadcasting(tf.logicalXor),
  Max: variadic(tf.maximum),
  Min: variadic(tf.minimum),
  Sum: variadic(tf.add),
  Mean: broadcasting((...xs) => tf.div(xs.reduce((a, b) => tf.add(a, b)), xs.length)),
  Where: broadcasting((cond, a, b) => tf.where(cond, a, b)),
  PRelu: broadcasting((x, slope) => tf.prelu(x, slope)),
};

/** Clip: bounds are attributes before opset 11 and optional inputs 1, 2 from then on. When min > max every element is max. */
const clipTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, n.opset < 11 ? ['min', 'max'] : []);
  const bound = (name: string, index: number, fallback: number) =>
    n.opset < 11
      ? () => attrFloat(n.node, name, fallback)
      : (ctx: TfjsContext) => (ctx.has(index) ? ctx.values(index)[0] : fallback);
  const lower = bound('min', 1, -Infinity);
  const upper = bound('max', 2, Infinity);
  return (ctx) => {
    const order = ctx.order(0);
    const x = ctx.input(0, order);
    const [lo, hi] = [lower(ctx), upper(ctx)];
    return [held(lo <= hi ? tf.clipByValue(x, lo, hi) : tf.minimum(tf.maximum(x, lo), hi), order)];
  };
};

/** e^(x − max) / Σ e^(x − max) (or its log) along `axis` of `x`. */
function softmaxAlong(x: tf.Tensor, axis: number, log: boolean): tf.Tensor {
  if (axis === x.rank - 1) return log ? tf.logSoftmax(x) : tf.softmax(x);
  const shifted = tf.sub(x, tf.max(x, axis, true));
  const sum = tf.sum(tf.exp(shifted), axis, true);
  return log ? tf.sub(shifted, tf.log(sum)) : tf.div(tf.exp(shifted), sum);
}

/**
 * Softmax / LogSoftmax. From opset 13 along one axis (default −1); before, over the input
 * coerced to 2-D at `axis` (default 1), i.e. over all axes from `axis` on.
 */
function softmaxTfjs(log: boolean): TfjsRule {
  return (n) => {
    acceptAttributes(n.node, ['axis']);
    const axisAttr = attrInt(n.node, 'axis', n.opset >= 13 ? -1 : 1);
    return (ctx) => {
      const rank = ctx.shape(0).length;
      const axis = axisIn(n.node, axisAttr, rank);
      if (n.opset < 13) {
        const x = ctx.input(0);
        const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
        return [onnxOrder(tf.reshape(softmaxAlong(tf.reshape(x, [rows, -1]), 1, log), x.shape))];
      }
      const order = ctx.order(0);
      return [held(softmaxAlong(ctx.input(0, order), heldAxis(axis, rank, order), log), order)];
    };
  };
}

/**
 * Dropout: the identity in eval mode; in training mode each element is kept with probability
 * 1 − ratio and scaled by 1 / (1 − ratio). The ratio is an attribute before opset 12, input 1
 * after. A graph that asks for training mode itself (input 2) would be random in eval mode: refused.
 */
const dropoutTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, n.opset < 12 ? ['ratio', 'is_test'] : ['seed']);
  if (n.opset < 7 && attrInt(n.node, 'is_test', 0) === 0) throw unsupported(n.node, 'is_test = 0 (training-mode graph)');
  const wantsMask = Boolean(n.node.outputs[1]);
  return (ctx) => {
    const order = ctx.order(0);
    const x = ctx.input(0, order);
    const ratio = n.opset < 12 ? attrFloat(n.node, 'ratio', 0.5) : ctx.has(1) ? ctx.values(1)[0] : 0.5;
    const graphTraining = ctx.has(2) && ctx.values(2)[0] !== 0;
    if (graphTraining && !ctx.training && ratio > 0) throw unsupported(n.node, 'training_mode = true in the graph');
    const keep = ctx.training && ratio > 0 ? tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', ctx.seed), ratio) : undefined;
    const y = keep ? tf.mul(x, tf.mul(tf.cast(keep, x.dtype), 1 / (1 - ratio))) : x;
    if (!wantsMask) return [held(y, order)];
    // The mask is bool from opset 10 on; before, it had the data's type.
    const mask = tf.cast(keep ?? tf.onesLike(x), n.opset >= 10 ? 'bool' : x.dtype);
    return [held(y, order), held(mask, order)];
  };
};

/** The tfjs rules of the element-wise ops, by op type. */
export const elementwiseRules: TfjsRules = {
  ...UNARY,
  Softmax: softmaxTfjs(false),
  LogSoftmax: softmaxTfjs(true),
  Clip: clipTfjs,
  ...BINARY,
  Dropout: dropoutTfjs,
};
