import * as tf from '@tensorflow/tfjs';
import { RELU_GRADIENT } from './kernels/relu-gradient.js';

const reluNative = tf.customGrad((...args) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const y = tf.relu(x);
  save([y]);
  return { value: y, gradFunc: (dy: tf.Tensor, [y]: tf.Tensor[]) => tf.engine().runKernel(RELU_GRADIENT, { dy, y }) as tf.Tensor };
});

/** tf.relu, with its gradient on otoc's native kernel where the backend has it (y > 0 exactly where x > 0). */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.getKernel(RELU_GRADIENT, tf.getBackend()) && x.dtype === 'float32' ? reluNative(x) : tf.relu(x);
}
