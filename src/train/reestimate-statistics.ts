/**
 * Running statistics re-estimated on samples ("adaptive BatchNorm", as EagleEye scores pruning
 * candidates): once channels are removed, the layers after them see other input distributions and
 * the running means and variances the model was trained with no longer fit; a network scored with
 * them looks far worse than it is. The statistics become the average over the batches of each
 * batch's mean and variance, the batch k of n moving them with momentum k/(k + 1).
 */
import * as tf from '@tensorflow/tfjs';
import { batches, type Samples } from '../data/samples.js';
import type { ForwardOptions, Mirror } from '../mirror/mirror.js';
import { batchTensors } from './step.js';

/** Replaces `mirror`'s running statistics by their averages over `samples` in batches of `batchSize`; `transform` as the forward pass takes it. */
export function reestimateStatistics(mirror: Mirror, samples: Samples, batchSize: number, transform?: ForwardOptions['transform']): void {
  if (mirror.buffers.size === 0) return;
  let k = 0;
  for (const batch of batches(samples, batchSize)) {
    const momentum = k / (k + 1);
    tf.tidy(() => {
      mirror.forward(batchTensors(batch).inputs, { training: false, statisticsMomentum: momentum, transform });
    });
    k++;
  }
}

/** A copy of `mirror`'s running statistics, to put back with `restoreStatistics`. */
export function saveStatistics(mirror: Mirror): Map<tf.Variable, tf.Tensor> {
  return new Map([...mirror.buffers.values()].map((v) => [v, tf.clone(v)]));
}

export function restoreStatistics(saved: Map<tf.Variable, tf.Tensor>): void {
  for (const [variable, value] of saved) variable.assign(value);
}
