/**
 * Objectives: the loss on a model's outputs, given the batch. A run trains on one objective or a
 * weighted sum of several (softmax cross-entropy on labels; MSE to per-sample targets; a teacher's
 * outputs). Objectives are plugins (plugins.ts): every thread that runs a forward pass builds the
 * same ones from their settings.
 */
import * as tf from '@tensorflow/tfjs';
import type { Samples } from '../data/samples.js';
import type { Model } from '../ir/graph.js';
import type { PluginSource, PluginUse } from '../plugins.js';
import type { ShapeAnalysis } from '../../passes/infer-shapes.js';

/** A batch as tensors: inputs by graph input name, labels, and the other targets by name. */
export interface BatchTensors {
  count: number;
  inputs: Record<string, tf.Tensor>;
  labels?: tf.Tensor1D;
  targets: Record<string, tf.Tensor>;
}

/** The model's outputs of one forward pass, by graph output name. */
export type Outputs = ReadonlyMap<string, tf.Tensor>;

export interface Objective {
  /** The mean loss over the batch; runs inside the gradient tape. */
  loss(outputs: Outputs, batch: BatchTensors): tf.Scalar;
  /** Sums over the batch that reports show; `correct` (predictions equal to the label) gives the accuracy. */
  metrics?(outputs: Outputs, batch: BatchTensors): Record<string, tf.Scalar>;
}

/** What an objective is checked against on the main thread, before training starts. */
export interface ObjectiveCheck {
  model: Model;
  facts: ShapeAnalysis;
  data: Samples;
}

export interface ObjectivePlugin<S = unknown> extends PluginSource {
  /** Throws an OtocError when the model or the data cannot take this objective. */
  check?(settings: S, against: ObjectiveCheck): void;
  /** Builds the objective for a model whose graph outputs are `outputs`, in order. */
  create(settings: S, outputs: readonly string[]): Objective;
}

export type ObjectiveUse<S = unknown> = PluginUse<ObjectivePlugin<S>, S> & {
  /** Its weight in the sum (default 1). */
  weight?: number;
};

/** The weighted sum of `parts`; with one part of weight 1, that part itself. Metrics are merged. */
export function combineObjectives(parts: readonly { objective: Objective; weight: number }[]): Objective {
  if (parts.length === 1 && parts[0].weight === 1) return parts[0].objective;
  return {
    loss: (outputs, batch) => tf.addN(parts.map(({ objective, weight }) => tf.mul(objective.loss(outputs, batch), weight))) as tf.Scalar,
    metrics: (outputs, batch) => Object.assign({}, ...parts.map(({ objective }) => objective.metrics?.(outputs, batch) ?? {})),
  };
}

/** Throws an OtocError when the model or the data cannot take one of the objectives. */
export function checkObjectives(uses: readonly ObjectiveUse[], against: ObjectiveCheck): void {
  for (const u of uses) u.plugin.check?.(u.settings, against);
}

/** The objectives of a run, built for a model's outputs. */
export function buildObjective(uses: readonly ObjectiveUse[], outputs: readonly string[]): Objective {
  return combineObjectives(uses.map((u) => ({ objective: u.plugin.create(u.settings, outputs), weight: u.weight ?? 1 })));
}
