import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_APPLY, BATCH_NORM_GRADIENT, BATCH_NORM_MOMENTS, type BatchNormAttrs } from './kernels/batchnorm-kernels.js';

/*
 * Batch normalization over channels-last tensors of any rank ≥ 2: the channel is the last axis,
 * statistics run over all the others. In training mode, otoc's native kernels where the backend
 * has them (wasm with the addon built), else broadcasting ops rather than tf.batchNorm, whose
 * gradient spends most of its time in Tile.
 */

export interface BatchNormTrainResult {
  y: tf.Tensor;
  /** The batch mean per channel. */
  mean: tf.Tensor1D;
  /** The batch variance per channel, biased (divided by the count), as the normalization uses it. */
  variance: tf.Tensor1D;
}

/**
 * Sums of a channels-last tensor per channel, as tᵀ·1 on the backend's matrix multiply: faster
 * than tf.sum over the leading axes, which transposes first.
 */
function channelSums(t: tf.Tensor): tf.Tensor1D {
  const channels = t.shape[t.rank - 1];
  const rows = t.size / channels;
  return tf.matMul(t.reshape([rows, channels]), tf.ones([rows, 1]), true, false).reshape([channels]);
}

/**
 * Training mode: y = (x − mean) / √(variance + eps) · gamma + beta with the batch's statistics.
 * Differentiable in x, gamma and beta, with the closed-form gradient (x̂ the normalized x)
 *   dx = gamma / √(variance + eps) · (dy − mean(dy) − x̂ · mean(dy · x̂)).
 * The statistics are outputs for updating running averages; no gradient flows through them.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): BatchNormTrainResult {
  if (tf.getKernel(BATCH_NORM_MOMENTS, tf.getBackend())) return batchNormTrainNative(x, gamma, beta, eps);
  const count = x.size / x.shape[x.rank - 1];
  const mean = tf.div<tf.Tensor1D>(channelSums(x), count);
  const centered = tf.sub(x, mean);
  const variance = tf.div<tf.Tensor1D>(channelSums(tf.mul(centered, centered)), count);
  const invStd = tf.rsqrt(tf.add(variance, eps));
  const normalize = tf.customGrad((...args) => {
    const [, gamma, beta, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const scale = tf.mul(gamma, invStd);
    save([centered, invStd, scale]);
    return {
      value: tf.add(tf.mul(centered, scale), beta),
      gradFunc: (dy: tf.Tensor, [centered, invStd, scale]: tf.Tensor[]) => {
        const dBeta = channelSums(dy);
        const dyCenteredSums = channelSums(tf.mul(dy, centered));
        const dGamma = tf.mul(dyCenteredSums, invStd);
        // dx = scale·dy − scale·mean(dy) − centered · scale·invStd²·mean(dy·centered)
        const centeredWeight = tf.mul(scale, tf.mul(tf.square(invStd), tf.div(dyCenteredSums, count)));
        const shift = tf.mul(scale, tf.div(dBeta, count));
        const dx = tf.sub(tf.sub(tf.mul(dy, scale), tf.mul(centered, centeredWeight)), shift);
        return [dx, dGamma, dBeta];
      },
    };
  });
  return { y: normalize(x, gamma, beta), mean, variance };
}

/** batchNormTrain on the backend's native kernels (kernels/batchnorm-kernels.ts). */
function batchNormTrainNative(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormTrainResult {
  const attrs: BatchNormAttrs = { epsilon };
  const [mean, variance] = tf.engine().runKernel(BATCH_NORM_MOMENTS, { x }) as tf.Tensor1D[];
  const normalize = tf.customGrad((...args) => {
    const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([x, gamma, mean, variance]);
    return {
      value: tf.engine().runKernel(BATCH_NORM_APPLY, { x, mean, variance, gamma, beta }, { ...attrs }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, [x, gamma, mean, variance]: tf.Tensor[]) =>
        tf.engine().runKernel(BATCH_NORM_GRADIENT, { dy, x, mean, variance, gamma }, { ...attrs }) as tf.Tensor[],
    };
  });
  return { y: normalize(x, gamma, beta), mean, variance };
}

/**
 * Eval mode with running statistics, computed as onnxruntime does:
 * y = x · scale + (beta − mean · scale), scale = gamma / √(variance + eps).
 */
export function batchNormEval(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  eps: number,
): tf.Tensor {
  return tf.tidy(() => {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale)));
  });
}
