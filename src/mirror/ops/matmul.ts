/** tfjs kernels of MatMul and Gemm. */
import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt } from '../../ir/attributes.js';
import { broadcastShapes } from '../../ops/shape-math.js';
import { TfjsRule, TfjsRules, acceptAttributes, onnxOrder } from './rule.js';

/**
 * A · B over matrices of rank ≥ 2 with numpy's batch broadcasting, written so that gradients
 * reach operands of the original shapes (tfjs's own broadcasting matMul returns gradients of
 * the broadcast shape): a batch against one matrix is one 2-D product, other batches are
 * broadcast explicitly.
 */
function batchedMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  if (b.rank === 2) return tf.reshape(tf.matMul(tf.reshape(a, [-1, k]), b), [...a.shape.slice(0, -1), n]);
  const batch = broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)]) as number[] | undefined;
  if (!batch) throw new Error(`MatMul cannot broadcast [${a.shape}] with [${b.shape}]`);
  const spread = (t: tf.Tensor, rows: number, cols: number) => {
    const shape = [...batch, rows, cols];
    return t.shape.join() === shape.join() ? t : tf.broadcastTo(t, shape);
  };
  return tf.matMul(spread(a, m, k), spread(b, k, n));
}

/** numpy matmul: batch dims broadcast; a 1-D operand gains a unit row (A) or column (B), dropped again after. */
const matmulTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, []);
  return (ctx) => {
    const [a, b] = [ctx.input(0), ctx.input(1)];
    const y = batchedMatMul(a.rank === 1 ? tf.expandDims(a, 0) : a, b.rank === 1 ? tf.expandDims(b, 1) : b);
    const dropped = [...(a.rank === 1 ? [y.rank - 2] : []), ...(b.rank === 1 ? [y.rank - 1] : [])];
    return [onnxOrder(dropped.length ? tf.squeeze(y, dropped) : y)];
  };
};

/** Y = alpha·A'·B' + beta·C, with A' and B' optionally transposed and C broadcast to Y. */
const gemmTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, ['alpha', 'beta', 'transA', 'transB']);
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const [transA, transB] = [attrInt(node, 'transA', 0) !== 0, attrInt(node, 'transB', 0) !== 0];
  return (ctx) => {
    let y = tf.matMul(ctx.input(0), ctx.input(1), transA, transB);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (ctx.has(2) && beta !== 0) y = tf.add(y, beta === 1 ? ctx.input(2) : tf.mul(ctx.input(2), beta));
    return [onnxOrder(y)];
  };
};

/** The tfjs rules of MatMul and Gemm, by op type. */
export const matmulRules: TfjsRules = {
  MatMul: matmulTfjs,
  Gemm: gemmTfjs,
};
