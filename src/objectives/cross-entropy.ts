/** Softmax cross-entropy of a classifier's logits against the batch's labels. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import { formatShape } from '../ir/types.js';
import type { Objective, ObjectivePlugin, ObjectiveUse } from './objective.js';

export interface CrossEntropySettings {
  /** The logits output [N, classes]; by default the model's only output. */
  output?: string;
}

/** Mean softmax cross-entropy of `logits` [N, K] against integer `labels` [N]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const classes = logits.shape[1];
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits) as tf.Scalar;
}

/** How many rows of `logits` have their largest value at the label (int32 scalar). */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
}

export const crossEntropyObjective: ObjectivePlugin<CrossEntropySettings> = {
  name: 'cross-entropy',
  module: import.meta.url,
  exportName: 'crossEntropyObjective',

  check(settings, { model, facts, data }) {
    const outputs = model.graph.outputs;
    const output = settings.output === undefined ? undefined : outputs.find((v) => v.name === settings.output);
    if (settings.output === undefined && outputs.length !== 1) {
      const names = outputs.map((v) => `'${v.name}'`).join(', ') || 'none';
      throw new OtocError(`training needs a classifier with one output (the logits); this model has ${outputs.length}: ${names}`);
    }
    const logits = output ?? outputs[0];
    if (!logits) throw new OtocError(`the model has no output '${settings.output}'`);
    const shape = facts.get(logits)?.shape;
    const classes = shape?.[1];
    if (shape?.length !== 2 || typeof classes !== 'number') {
      throw new OtocError(`the model output '${logits.name}' has shape ${formatShape(shape)}, not [N, classes]: training needs a classifier's logits`);
    }
    if (!data.labels) throw new OtocError('the data has no labels: cross-entropy needs a label per sample');
    if (classes < (data.classes ?? 0)) {
      throw new OtocError(`the data has ${data.classes} classes but the model output '${logits.name}' gives ${classes} scores per image`);
    }
  },

  create(settings, outputs): Objective {
    const name = settings.output ?? outputs[0];
    const logitsOf = (outputs: ReadonlyMap<string, tf.Tensor>) => outputs.get(name) as tf.Tensor2D;
    return {
      loss: (outputs, batch) => crossEntropy(logitsOf(outputs), batch.labels!),
      metrics: (outputs, batch) => ({ correct: correctCount(logitsOf(outputs), batch.labels!) }),
    };
  },
};

/** Cross-entropy on the model's only output: a classifier's usual objective. */
export const CROSS_ENTROPY: ObjectiveUse = { plugin: crossEntropyObjective as ObjectivePlugin, settings: {} };
