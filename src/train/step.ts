import * as tf from '@tensorflow/tfjs';
import type { Batch, SampleTensor } from '../data/samples.js';
import { DataType } from '../ir/dtype.js';
import type { Value } from '../ir/graph.js';
import type { NetworkHooks } from '../methods/method.js';
import type { Mirror } from '../mirror/mirror.js';
import type { BatchTensors, Objective } from '../objectives/objective.js';
import type { Parameter } from './optimizer.js';

/** Sums over a batch that an objective reports (e.g. `correct`), by name. */
export type MetricSums = Record<string, number>;

export interface BatchGradients {
  /** One per trained variable, in the order of `TrainingStep.params`. */
  grads: Float32Array[];
  /** The objective's mean loss on the batch (method loss terms not included). */
  loss: number;
  metrics: MetricSums;
}

/**
 * One network's tensor work. tfjs computes the gradients of the trained variables, which are
 * read back into JS for the optimizer; the optimizer updates the master copies (`params`), which
 * are then written into the variables.
 */
export class TrainingStep {
  private readonly trained: tf.Variable[];
  private readonly outputNames: string[];

  /** `params[i]` is the master copy of the i-th of `variables`. */
  constructor(
    private readonly mirror: Mirror,
    outputs: readonly Value[],
    private readonly objective: Objective,
    private readonly hooks: NetworkHooks,
    variables: ReadonlyMap<Value, tf.Variable>,
    readonly params: readonly Parameter[],
  ) {
    this.trained = [...variables.values()];
    this.outputNames = outputs.map((v) => v.name);
  }

  /** Gradients of the loss on `batch`, in training mode (BatchNorm updates its running statistics). */
  gradients(batch: Batch, dropoutSeed: number): BatchGradients {
    const tensors = batchTensors(batch);
    let lossOut: tf.Scalar | undefined;
    let metricsOut: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const outputs = this.forward(tensors, { training: true, seed: dropoutSeed });
      const loss = this.objective.loss(outputs, tensors);
      lossOut = tf.keep(loss);
      metricsOut = mapValues(this.objective.metrics?.(outputs, tensors) ?? {}, (m) => tf.keep(m));
      const lossTerm = this.hooks.lossTerm;
      return lossTerm ? tf.addN([loss, lossTerm.call(this.hooks, this.mirror.params)]) : loss;
    }, this.trained);
    const result: BatchGradients = {
      grads: this.trained.map((v) => (grads[v.name] ? (grads[v.name].dataSync() as Float32Array) : new Float32Array(v.size))),
      loss: lossOut!.dataSync()[0],
      metrics: mapValues(metricsOut, (m) => m.dataSync()[0]),
    };
    tf.dispose([...tensorsOf(tensors), value, lossOut!, ...Object.values(metricsOut), ...Object.values(grads)]);
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

  /** The objective's summed loss and metric sums on `batch`, in eval mode. */
  evaluate(batch: Batch): { lossSum: number; metrics: MetricSums } {
    const sums = tf.tidy(() => {
      const tensors = batchTensors(batch);
      const outputs = this.forward(tensors, { training: false });
      return { lossSum: tf.mul(this.objective.loss(outputs, tensors), batch.count), metrics: this.objective.metrics?.(outputs, tensors) ?? {} };
    });
    const result = { lossSum: sums.lossSum.dataSync()[0], metrics: mapValues(sums.metrics, (m) => m.dataSync()[0]) };
    tf.dispose([sums.lossSum, ...Object.values(sums.metrics)]);
    return result;
  }

  private forward(tensors: BatchTensors, mode: { training: boolean; seed?: number }): Map<string, tf.Tensor> {
    const transform = this.hooks.transform?.bind(this.hooks);
    const outputs = this.mirror.forward(tensors.inputs, { ...mode, transform });
    return new Map(this.outputNames.map((name, i) => [name, outputs[i]]));
  }
}

/** `batch` as tensors: every input and target [count, ...sampleDims], labels int32. */
export function batchTensors(batch: Batch): BatchTensors {
  const tensor = (t: SampleTensor) =>
    tf.tensor(t.data, [batch.count, ...t.sampleDims], t.data instanceof Float32Array ? 'float32' : t.dataType === DataType.BOOL ? 'bool' : 'int32');
  return {
    count: batch.count,
    inputs: Object.fromEntries(batch.inputs.map((t) => [t.name, tensor(t)])),
    ...(batch.labels && { labels: tf.tensor1d(batch.labels, 'int32') }),
    targets: Object.fromEntries((batch.targets ?? []).map((t) => [t.name, tensor(t)])),
  };
}

function tensorsOf(t: BatchTensors): tf.Tensor[] {
  return [...Object.values(t.inputs), ...(t.labels ? [t.labels] : []), ...Object.values(t.targets)];
}

function mapValues<A, B>(record: Record<string, A>, f: (a: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

/** Master copies of `variables`, in their order. */
export function masterCopies(variables: ReadonlyMap<Value, tf.Variable>): Parameter[] {
  return [...variables].map(([value, variable]) => ({ value, data: new Float32Array(variable.dataSync()) }));
}
