/** Picking elements along one axis by index, with a gradient on every backend. */
import * as tf from '@tensorflow/tfjs';

/**
 * `x` at `indices` along `axis` (tf.gather), differentiable on every backend: tfjs's own
 * gradient needs UnsortedSegmentSum, which the wasm backend lacks; this one scatters the
 * incoming gradient back with ScatterNd, adding up repeated indices.
 */
export function gatherAlong(x: tf.Tensor, indices: tf.Tensor1D, axis: number): tf.Tensor {
  // Integer and bool tensors (shapes, masks) carry no gradient.
  if (x.dtype !== 'float32') return tf.gather(x, indices, axis);
  const gather = tf.customGrad((...args) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    // Saved, as the tensors of the forward pass are gone when the gradient runs.
    save([indices]);
    return {
      value: tf.gather(input, indices, axis),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => scatterAlong(dy, saved as tf.Tensor1D, axis, input.shape[axis]),
    };
  });
  return gather(x);
}

/** The sum of `dy`'s slices along `axis` into a tensor whose `axis` has `size` entries, slice k at indices[k]. */
function scatterAlong(dy: tf.Tensor, indices: tf.Tensor1D, axis: number, size: number): tf.Tensor {
  const perm = [axis, ...dy.shape.map((_, i) => i).filter((i) => i !== axis)];
  const front = axis === 0 ? dy : tf.transpose(dy, perm);
  const summed = tf.scatterND(tf.reshape(indices, [-1, 1]), front, [size, ...front.shape.slice(1)]);
  if (axis === 0) return summed;
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return tf.transpose(summed, inverse);
}

/** gatherAlong with a fixed index list. */
export function pickAlong(x: tf.Tensor, indices: ArrayLike<number>, axis: number): tf.Tensor {
  return gatherAlong(x, tf.tensor1d(Int32Array.from(indices), 'int32'), axis);
}
