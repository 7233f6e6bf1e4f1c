/**
 * One ADMM round as a training method: the base optimizer, ADMM's proximal term added to the
 * master copies' gradients (a gradient term, not a loss term, so shards and the small network
 * work as for any method), and an ADMM iteration — Z-projection, dual update, ρ growth — at
 * evenly spaced steps. The rounds of `--method admm` and `autocompress` train with it (plan.ts).
 */
import { groupVectors } from '../../train/group-vectors.js';
import { BaseOptimizer } from '../../train/base-optimizers.js';
import type { BaseOptions } from '../../train/optimizer.js';
import type { MethodPlugin, MethodSession } from '../method.js';
import { AdmmSplit } from './admm.js';

export interface AdmmRoundSettings {
  base: BaseOptions;
  /** Groups each group set keeps, by set index of the model trained; null: the set is not constrained. */
  keep: (number | null)[];
  /** ρ of the first iteration; each iteration multiplies it by `rhoGrowth`. */
  rho: number;
  rhoGrowth: number;
  /** ADMM iterations in the round (fewer when the round has fewer steps). */
  iterations: number;
}

/** What the plan reads from a finished round's session. */
export interface AdmmRoundSession extends MethodSession {
  /** ‖W − Z‖ after each iteration's Z-projection. */
  residuals(): number[];
  /** The ZIGs outside Z's support: what the hard prune zeroes. */
  outsideSupport(): number[];
}

export const admmRound: MethodPlugin<AdmmRoundSettings> = {
  name: 'admm-round',
  module: import.meta.url,
  exportName: 'admmRound',
  summary: 'One ADMM round: SGD on the loss plus ρ/2‖W − Z + U‖², Z projected on the per-set group budgets.',
  session(settings, setup): AdmmRoundSession {
    const split = new AdmmSplit(setup.params, groupVectors(setup.groups, setup.params), (set) => settings.keep[set] ?? Infinity);
    split.project();
    const iterations = Math.max(1, Math.min(settings.iterations, setup.totalSteps));
    const boundary = (k: number) => Math.round((k * setup.totalSteps) / iterations);
    let iteration = 0;
    let residuals: number[] = [];
    const rho = () => settings.rho * settings.rhoGrowth ** iteration;
    return {
      optimizer: new BaseOptimizer(setup.params, settings.base),
      gradientTerm: (grads) => split.addProximalGradient(grads, rho()),
      afterStep({ step }) {
        if (iteration < iterations && step >= boundary(iteration + 1)) {
          split.project();
          split.updateDual();
          residuals.push(split.residual());
          iteration++;
        }
        return { rho: rho(), ...(residuals.length && { admmResidual: residuals.at(-1)! }) };
      },
      saveState: () => ({ ...split.state(), iteration, residuals }),
      loadState(state) {
        split.restore(state as unknown as Parameters<AdmmSplit['restore']>[0]);
        iteration = state.iteration as number;
        residuals = [...(state.residuals as number[])];
      },
      residuals: () => [...residuals],
      outsideSupport: () => split.outsideSupport(),
    };
  },
};
