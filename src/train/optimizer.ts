/**
 * Optimizers as otoc's trainer sees them: they update a master copy of every parameter (ONNX
 * layout, row-major Float32Array) in place from its gradient. Group-aware optimizers (DHSPG,
 * ADMM) also receive the ZIG group vectors (src/train/group-vectors.ts).
 */
import type { Value } from '../ir/graph.js';

export interface Parameter {
  /** The initializer this parameter trains. */
  readonly value: Value;
  /** Current values, updated in place by the optimizer. */
  readonly data: Float32Array;
}

/** What a checkpoint stores for an optimizer: numbers and arrays, nothing else. */
export type OptimizerState = Record<string, number | number[] | Float32Array>;

export interface Optimizer {
  /** Update every parameter in place; `grads[i]` is the gradient of `params[i]`, `lr` this step's learning rate. */
  step(grads: readonly Float32Array[], lr: number): void;
  saveState(): OptimizerState;
  loadState(state: OptimizerState): void;
  /**
   * Ids of the ZIGs that are zero and stay zero until the end, once no group can change any more
   * (undefined before): the trainer may then train the network without them (shrink.ts).
   */
  settledZeroGroups?(): number[] | undefined;
}

export type BaseKind = 'sgd' | 'adam' | 'adamw';

export interface BaseOptions {
  kind: BaseKind;
  /** SGD momentum (PyTorch convention: buf = μ·buf + g, no dampening). */
  momentum: number;
  /** L2 penalty added to the gradient (sgd, adam) or decoupled decay (adamw). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const BASE_DEFAULTS: Omit<BaseOptions, 'kind'> = { momentum: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
