/**
 * Retraining with a fixed mask: the base optimizer, with every group that is zero when training
 * starts held at exactly zero after each step. It retrains a hard-pruned model (ADMM's) before it
 * is physically pruned; since those groups are settled from the first step, the trainer computes
 * the gradients on the small network without them.
 */
import { BaseOptimizer } from '../train/base-optimizers.js';
import { groupVectors, type GroupVector } from '../train/group-vectors.js';
import type { BaseOptions, Optimizer, OptimizerState, Parameter } from '../train/optimizer.js';
import type { MethodPlugin } from './method.js';

class MaskedOptimizer implements Optimizer {
  private readonly base: BaseOptimizer;

  constructor(
    private readonly params: readonly Parameter[],
    private readonly masked: readonly GroupVector[],
    options: BaseOptions,
  ) {
    this.base = new BaseOptimizer(params, options);
  }

  step(grads: readonly Float32Array[], lr: number): void {
    this.base.step(grads, lr);
    for (const g of this.masked) for (const part of g.parts) for (const j of part.offsets) this.params[part.param].data[j] = 0;
  }

  settledZeroGroups(): number[] | undefined {
    return this.masked.length ? this.masked.map((g) => g.zig) : undefined;
  }

  saveState(): OptimizerState {
    return this.base.saveState();
  }

  loadState(state: OptimizerState): void {
    this.base.loadState(state);
  }
}

/** Whether every element of group vector `g` is zero. */
function isZero(g: GroupVector, params: readonly Parameter[]): boolean {
  return g.parts.every((part) => part.offsets.every((j) => params[part.param].data[j] === 0));
}

export const maskedTraining: MethodPlugin<BaseOptions> = {
  name: 'masked',
  module: import.meta.url,
  exportName: 'maskedTraining',
  summary: 'Trains with the base optimizer, holding the groups that start at zero at exactly zero.',
  session: (settings, setup) => {
    const masked = groupVectors(setup.groups, setup.params).filter((g) => isZero(g, setup.params));
    return { optimizer: new MaskedOptimizer(setup.params, masked, settings) };
  },
};
