import * as tf from '@tensorflow/tfjs';
import type { Value } from '../ir/graph.js';
import type { Mirror } from '../mirror/mirror.js';
import type { Batch } from '../data/index.js';
import type { ClassifierInterface } from './classifier.js';
import { correctCount, crossEntropy } from './loss.js';
import type { Parameter } from './optimizer.js';

/** What the loss and the forward pass take beyond the mirror: extension loss terms and a weight transform. */
export interface LossShaping {
  lossTerms: ((params: ReadonlyMap<Value, tf.Variable>) => tf.Scalar)[];
  transform?: (param: Value, weight: tf.Tensor) => tf.Tensor;
}

export interface BatchGradients {
  /** One per trained variable, in the order of `TrainingStep.params`. */
  grads: Float32Array[];
  /** Mean cross-entropy of the batch. */
  loss: number;
  correct: number;
}

/**
 * One training step's tensor work. tfjs computes the gradients of the trained variables, which are
 * read back into JS for the optimizer; the optimizer updates the master copies (`params`), which
 * are then written into the variables.
 */
export class TrainingStep {
  private readonly trained: tf.Variable[];

  /** `params[i]` is the master copy of the i-th of `variables`. */
  constructor(
    private readonly mirror: Mirror,
    private readonly io: ClassifierInterface,
    variables: ReadonlyMap<Value, tf.Variable>,
    readonly params: readonly Parameter[],
    private readonly shaping: LossShaping,
  ) {
    this.trained = [...variables.values()];
  }

  /** Gradients of the loss on `batch`, in training mode (BatchNorm updates its running statistics). */
  gradients(batch: Batch, dropoutSeed: number): BatchGradients {
    const images = this.imageTensor(batch);
    const labels = tf.tensor1d(batch.labels, 'int32');
    let crossEntropyOut: tf.Scalar | undefined;
    let correctOut: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = this.logits(images, { training: true, seed: dropoutSeed });
      const ce = crossEntropy(logits, labels);
      crossEntropyOut = tf.keep(ce);
      correctOut = tf.keep(correctCount(logits, labels));
      const terms = this.shaping.lossTerms.map((term) => term(this.mirror.params));
      return terms.length ? tf.addN([ce, ...terms]) : ce;
    }, this.trained);
    const result: BatchGradients = {
      grads: this.trained.map((v) => (grads[v.name] ? (grads[v.name].dataSync() as Float32Array) : new Float32Array(v.size))),
      loss: crossEntropyOut!.dataSync()[0],
      correct: correctOut!.dataSync()[0],
    };
    tf.dispose([images, labels, value, crossEntropyOut!, correctOut!, ...Object.values(grads)]);
    return result;
  }

  /** Writes the master copies into the trained variables. */
  upload(): void {
    tf.tidy(() => this.trained.forEach((v, i) => v.assign(tf.tensor(this.params[i].data, v.shape))));
  }

  /** Reads the trained variables into the master copies (after a checkpoint set them). */
  download(): void {
    this.trained.forEach((v, i) => this.params[i].data.set(v.dataSync() as Float32Array));
  }

  /** Summed cross-entropy and correct count of `batch` in eval mode. */
  evaluate(batch: Batch): { lossSum: number; correct: number } {
    const [lossSum, correct] = tf.tidy(() => {
      const labels = tf.tensor1d(batch.labels, 'int32');
      const logits = this.logits(this.imageTensor(batch), { training: false });
      return [tf.mul(crossEntropy(logits, labels), batch.labels.length), correctCount(logits, labels)];
    });
    const result = { lossSum: lossSum.dataSync()[0], correct: correct.dataSync()[0] };
    tf.dispose([lossSum, correct]);
    return result;
  }

  private logits(images: tf.Tensor, mode: { training: boolean; seed?: number }): tf.Tensor2D {
    const [logits] = this.mirror.forward({ [this.io.input]: images }, { ...mode, transform: this.shaping.transform });
    return logits as tf.Tensor2D;
  }

  private imageTensor(batch: Batch): tf.Tensor {
    return tf.tensor(batch.images, [batch.labels.length, ...this.io.sampleDims], 'float32');
  }
}

/** Master copies of `variables`, in their order. */
export function masterCopies(variables: ReadonlyMap<Value, tf.Variable>): Parameter[] {
  return [...variables].map(([value, variable]) => ({ value, data: new Float32Array(variable.dataSync()) }));
}
