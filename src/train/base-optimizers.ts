/**
 * SGD (with momentum), Adam and AdamW, written as a *direction* d per parameter element so that
 * DHSPG can reuse the same rule: the plain update is x ← x − α·(d + λ_dec·x), where λ_dec is
 * AdamW's decoupled decay (0 for the others, whose weight decay is inside d). Matches PyTorch.
 */
import type { BaseOptions, Optimizer, OptimizerState, Parameter } from './optimizer.js';

export class DirectionRule {
  private readonly buffers: Float32Array[];
  private readonly second: Float32Array[];
  private readonly directionsOut: Float32Array[];
  private steps = 0;
  /** AdamW's decay, applied outside the direction. */
  readonly decoupledDecay: number;

  constructor(
    private readonly params: readonly Parameter[],
    private readonly o: BaseOptions,
  ) {
    const zeros = () => params.map((p) => new Float32Array(p.data.length));
    this.buffers = zeros();
    this.second = o.kind === 'sgd' ? [] : zeros();
    this.directionsOut = zeros();
    this.decoupledDecay = o.kind === 'adamw' ? o.weightDecay : 0;
  }

  /** The step direction of every parameter for these gradients (advances momentum/moment state). */
  directions(grads: readonly Float32Array[]): Float32Array[] {
    this.steps++;
    const { kind, momentum, weightDecay, beta1, beta2, eps } = this.o;
    const coupledDecay = kind === 'adamw' ? 0 : weightDecay;
    const c1 = 1 - Math.pow(beta1, this.steps);
    const c2 = 1 - Math.pow(beta2, this.steps);
    this.params.forEach((p, i) => {
      const x = p.data;
      const g = grads[i];
      const d = this.directionsOut[i];
      const m = this.buffers[i];
      if (kind === 'sgd') {
        for (let j = 0; j < x.length; j++) {
          const gj = g[j] + coupledDecay * x[j];
          if (momentum === 0) d[j] = gj;
          else d[j] = m[j] = this.steps === 1 ? gj : momentum * m[j] + gj;
        }
        return;
      }
      const v = this.second[i];
      for (let j = 0; j < x.length; j++) {
        const gj = g[j] + coupledDecay * x[j];
        m[j] = beta1 * m[j] + (1 - beta1) * gj;
        v[j] = beta2 * v[j] + (1 - beta2) * gj * gj;
        d[j] = m[j] / c1 / (Math.sqrt(v[j] / c2) + eps);
      }
    });
    return this.directionsOut;
  }

  saveState(): OptimizerState {
    const state: OptimizerState = { steps: this.steps };
    this.buffers.forEach((b, i) => (state[`m${i}`] = b));
    this.second.forEach((b, i) => (state[`v${i}`] = b));
    return state;
  }

  loadState(state: OptimizerState): void {
    this.steps = state.steps as number;
    this.buffers.forEach((b, i) => b.set(state[`m${i}`] as Float32Array));
    this.second.forEach((b, i) => b.set(state[`v${i}`] as Float32Array));
  }
}

/** The plain optimizer: x ← x − α·(d + λ_dec·x) for every element. */
export class BaseOptimizer implements Optimizer {
  private readonly rule: DirectionRule;

  constructor(
    private readonly params: readonly Parameter[],
    options: BaseOptions,
  ) {
    this.rule = new DirectionRule(params, options);
  }

  step(grads: readonly Float32Array[], lr: number): void {
    const dirs = this.rule.directions(grads);
    const decay = this.rule.decoupledDecay;
    this.params.forEach((p, i) => {
      const x = p.data;
      const d = dirs[i];
      for (let j = 0; j < x.length; j++) x[j] -= lr * (d[j] + decay * x[j]);
    });
  }

  saveState(): OptimizerState {
    return this.rule.saveState();
  }

  loadState(state: OptimizerState): void {
    this.rule.loadState(state);
  }
}
