import * as tf from '@tensorflow/tfjs';

/** A kernel's input `name`, which must be a float32 tensor of rank 4. */
export function tensor4D(info: tf.TensorInfo | undefined, name: string): tf.Tensor4D {
  if (!(info instanceof tf.Tensor) || info.rank !== 4) throw new Error(`expected a rank-4 tensor for ${name}`);
  if (info.dtype !== 'float32') throw new Error(`expected float32 for ${name}, got ${info.dtype}`);
  return info as tf.Tensor4D;
}
