/** tfjs kernels of BatchNormalization, InstanceNormalization, GroupNormalization and LayerNormalization. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrFloat, attrInt } from '../../ir/attributes.js';
import { batchNormEval, batchNormTrain } from '../../tfjs/batchnorm.js';
import { TfjsRule, TfjsRules, acceptAttributes, axisIn, channelsLast, onnxOrder, unsupported } from './rule.js';

/**
 * BatchNormalization over axis 1, run channels-last. With running statistics (eval), or with the
 * batch's (the mirror's training mode, or a graph node with training_mode = 1, opset 14); the
 * running statistics then move as ONNX defines it: running·momentum + batch·(1 − momentum), with
 * the batch variance divided by the count. The mirror keeps the new ones only in training mode,
 * or while statistics are re-estimated (then with the given momentum in place of the node's).
 */
const batchNormTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, ['epsilon', 'momentum', ...(n.opset >= 14 ? ['training_mode'] : ['spatial'])]);
  if (attrInt(node, 'spatial', 1) === 0) throw unsupported(node, 'spatial = 0 (statistics per element)');
  const graphTraining = attrInt(node, 'training_mode', 0) !== 0;
  // Before opset 14, the outputs after Y are training-mode statistics of another definition.
  if (n.opset < 14 && node.outputs.slice(1).some((v) => v)) throw unsupported(node, 'the statistics outputs before opset 14');
  const epsilon = attrFloat(node, 'epsilon', 1e-5);
  const momentum = attrFloat(node, 'momentum', 0.9);
  return (ctx) => {
    const x = ctx.input(0, 'channelsLast');
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.input(i) as tf.Tensor1D);
    const reestimating = ctx.statisticsMomentum !== undefined;
    if (!ctx.training && !graphTraining && !reestimating) return [channelsLast(batchNormEval(x, gamma, beta, mean, variance, epsilon))];
    const batch = batchNormTrain(x, gamma, beta, epsilon);
    const m = ctx.statisticsMomentum ?? momentum;
    const moved = (running: tf.Tensor, current: tf.Tensor) => tf.add(tf.mul(running, m), tf.mul(current, 1 - m));
    const runningMean = moved(mean, batch.mean);
    const runningVar = moved(variance, batch.variance);
    if (ctx.training || reestimating) {
      ctx.setBuffer(3, runningMean);
      ctx.setBuffer(4, runningVar);
    }
    return [channelsLast(batch.y), onnxOrder(runningMean), onnxOrder(runningVar)];
  };
};

/** (x − mean) / √(variance + ε) · scale + bias, the statistics over `axes` of `x` (kept as 1s). */
function normalize(x: tf.Tensor, axes: number[], epsilon: number, scale: tf.Tensor, bias: tf.Tensor) {
  const { mean, variance } = tf.moments(x, axes, true);
  const invStdDev = tf.rsqrt(tf.add(variance, epsilon));
  return { y: tf.add(tf.mul(tf.mul(tf.sub(x, mean), invStdDev), scale), bias), mean, invStdDev };
}

/** InstanceNormalization: statistics per sample and channel over the spatial axes. */
const instanceNormTfjs: TfjsRule = (n) => {
  acceptAttributes(n.node, ['epsilon']);
  const epsilon = attrFloat(n.node, 'epsilon', 1e-5);
  return (ctx) => {
    const x = ctx.input(0, 'channelsLast');
    const spatial = Array.from({ length: x.rank - 2 }, (_, i) => i + 1);
    return [channelsLast(normalize(x, spatial, epsilon, ctx.input(1), ctx.input(2)).y)];
  };
};

/**
 * GroupNormalization (opset 18, 21): statistics per sample over each group of C/num_groups
 * channels and the spatial axes. Scale and bias are per channel from opset 21; opset 18 gave them
 * per group, each applying to the group's channels. Computed in float32 whatever stash_type says.
 */
const groupNormTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, ['num_groups', 'epsilon', ...(n.opset >= 21 ? ['stash_type'] : [])]);
  const groups = attrInt(node, 'num_groups');
  if (groups === undefined || groups < 1) throw new OtocError(`node ${node.label()}: num_groups must be a positive integer`);
  const epsilon = attrFloat(node, 'epsilon', 1e-5);
  return (ctx) => {
    const x = ctx.input(0, 'channelsLast');
    const channels = x.shape[x.rank - 1];
    if (channels % groups !== 0) throw new OtocError(`node ${node.label()}: ${channels} channels do not split into ${groups} groups`);
    const perGroup = channels / groups;
    const grouped = tf.reshape(x, [x.shape[0], -1, groups, perGroup]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normalized = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, epsilon))), x.shape);
    const perChannel = (t: tf.Tensor) => (n.opset >= 21 ? t : tf.reshape(tf.tile(tf.reshape(t, [groups, 1]), [1, perGroup]), [channels]));
    return [channelsLast(tf.add(tf.mul(normalized, perChannel(ctx.input(1))), perChannel(ctx.input(2))))];
  };
};

/** LayerNormalization (opset 17): statistics over the axes from `axis` on, in float32 whatever stash_type says. */
const layerNormTfjs: TfjsRule = (n) => {
  const node = n.node;
  acceptAttributes(node, ['axis', 'epsilon', 'stash_type']);
  const axisAttr = attrInt(node, 'axis', -1);
  const epsilon = attrFloat(node, 'epsilon', 1e-5);
  return (ctx) => {
    const x = ctx.input(0);
    const axis = axisIn(node, axisAttr, x.rank);
    const axes = Array.from({ length: x.rank - axis }, (_, i) => axis + i);
    const bias = ctx.has(2) ? ctx.input(2) : tf.scalar(0);
    const { y, mean, invStdDev } = normalize(x, axes, epsilon, ctx.input(1), bias);
    return [onnxOrder(y), onnxOrder(mean), onnxOrder(invStdDev)];
  };
};

/** The tfjs rules of the normalizations, by op type. */
export const normalizationRules: TfjsRules = {
  BatchNormalization: batchNormTfjs,
  InstanceNormalization: instanceNormTfjs,
  GroupNormalization: groupNormTfjs,
  LayerNormalization: layerNormTfjs,
};
