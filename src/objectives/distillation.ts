/**
 * Knowledge distillation: the model's outputs against a teacher's, which every batch carries as
 * per-sample targets of the outputs' names (src/pipeline/distill.ts computes them). Per output:
 * - logits ([N, C], C ≥ 2): Hinton's KL(softmax(t/T) ‖ softmax(s/T))·T² (NNI's convention, T = 2);
 * - any other output: the mean squared error divided by the variance of the teacher's output
 *   over the training samples, so that outputs of any scale weigh alike.
 * The loss is the sum over the outputs; with labels, a run adds cross-entropy with weights
 * (1 − α, α).
 */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import { formatShape } from '../ir/types.js';
import type { Objective, ObjectivePlugin, Outputs } from './objective.js';

export type OutputKind = 'logits' | 'values';

export interface DistilledOutput {
  name: string;
  kind: OutputKind;
  /** For values: the teacher output's variance over the training samples, which the MSE is divided by. */
  variance?: number;
}

export interface DistillationSettings {
  outputs: DistilledOutput[];
  /** Softens both distributions of logits outputs. */
  temperature: number;
}

/** Mean over the batch of KL(softmax(teacher/T) ‖ softmax(student/T)), times T². */
export function klDivergence(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number): tf.Scalar {
  const logP = tf.logSoftmax(tf.div(teacher, temperature));
  const logQ = tf.logSoftmax(tf.div(student, temperature));
  const perSample = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1);
  return tf.mul(tf.mean(perSample), temperature * temperature) as tf.Scalar;
}

/** The mean squared error of `student` against `teacher`, divided by `variance`. */
export function scaledMse(student: tf.Tensor, teacher: tf.Tensor, variance: number): tf.Scalar {
  return tf.div(tf.losses.meanSquaredError(teacher, student), variance) as tf.Scalar;
}

/** How many rows of `student` have their largest value where `teacher`'s is (int32 scalar). */
export function agreementCount(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(student, 1), tf.argMax(teacher, 1)), 'int32'));
}

export const distillationObjective: ObjectivePlugin<DistillationSettings> = {
  name: 'distillation',
  module: import.meta.url,
  exportName: 'distillationObjective',

  check(settings, { model, facts, data }) {
    if (settings.outputs.length === 0) throw new OtocError('distillation needs at least one float output of the model');
    if (!(settings.temperature > 0)) throw new OtocError(`the temperature must be positive, got ${settings.temperature}`);
    for (const { name, kind, variance } of settings.outputs) {
      const output = model.graph.outputs.find((v) => v.name === name);
      if (!output) throw new OtocError(`the model has no output '${name}'`);
      const shape = facts.get(output)?.shape;
      if (kind === 'logits' && shape?.length !== 2) throw new OtocError(`the output '${name}' has shape ${formatShape(shape)}, not [N, classes]: it cannot be distilled as logits`);
      if (kind === 'values' && !(variance !== undefined && variance > 0)) throw new OtocError(`the teacher's output '${name}' has no variance to scale its MSE by`);
      const target = data.targets?.find((t) => t.name === name);
      const [, ...dims] = shape ?? [];
      if (target && (dims.length !== target.sampleDims.length || dims.some((d, i) => typeof d === 'number' && d !== target.sampleDims[i]))) {
        throw new OtocError(`the output '${name}' has shape ${formatShape(shape)}, the teacher's ${formatShape(['N', ...target.sampleDims])}`);
      }
    }
  },

  create(settings): Objective {
    const { outputs, temperature } = settings;
    const firstLogits = outputs.find((o) => o.kind === 'logits')?.name;
    const pair = (out: Outputs, targets: Record<string, tf.Tensor>, name: string) => [out.get(name)!, targets[name]] as const;
    return {
      loss: (out, batch) => {
        const terms = outputs.map(({ name, kind, variance }) => {
          const [student, teacher] = pair(out, batch.targets, name);
          return kind === 'logits' ? klDivergence(student as tf.Tensor2D, teacher as tf.Tensor2D, temperature) : scaledMse(student, teacher, variance!);
        });
        return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
      },
      ...(firstLogits && {
        metrics: (out, batch) => {
          const [student, teacher] = pair(out, batch.targets, firstLogits);
          return { agreement: agreementCount(student as tf.Tensor2D, teacher as tf.Tensor2D) };
        },
      }),
    };
  },
};
