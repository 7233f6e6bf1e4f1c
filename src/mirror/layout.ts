/** Moving tensors between the axis orders the mirror holds them in. */
import * as tf from '@tensorflow/tfjs';
import { AxisOrder, channelsLastPerm, onnxPerm } from './ops/rule.js';

/**
 * `t`, held in `from`, in axis order `to`. When the channel axis or all the spatial axes have
 * size 1, both orders lay the elements out alike and a reshape (no copy) does.
 */
export function reorder(t: tf.Tensor, from: AxisOrder, to: AxisOrder): tf.Tensor {
  if (from === to || t.rank < 3) return t;
  const perm = to === 'channelsLast' ? channelsLastPerm(t.rank) : onnxPerm(t.rank);
  const channels = t.shape[from === 'onnx' ? 1 : t.rank - 1]!;
  const spatial = t.size / (t.shape[0] * channels);
  return channels === 1 || spatial === 1 ? tf.reshape(t, perm.map((a) => t.shape[a])) : tf.transpose(t, perm);
}

/** An ONNX-order tensor with leading unit axes up to `rank`, the alignment of numpy broadcasting. */
export function withRank(t: tf.Tensor, rank: number): tf.Tensor {
  return t.rank >= rank ? t : tf.reshape(t, [...new Array<number>(rank - t.rank).fill(1), ...t.shape]);
}
