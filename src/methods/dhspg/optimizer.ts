/**
 * DHSPG, the Dual Half-Space Projected Gradient (docs/dhspg.md), over ZIG group vectors.
 *
 * Before `partitionStep` every group follows the base optimizer. At the partition step the
 * groups are scored (direction alignment and small magnitude) and the top ones form G_p, to be
 * driven to zero; the rest (G_np) keep following the base optimizer exactly. While the group
 * sparsity is below the target, each G_p group takes a trial step with a group-lasso pull of
 * strength λ_g and, from `halfSpaceStep` on, is set to exactly zero when the trial point leaves
 * the half-space around it. Zero groups stay zero.
 *
 * Beyond the original, three changes (measured in docs/dhspg-experiments.md, "Where the design
 * was changed"):
 * - G_p holds the ⌈target·N⌉ groups that make the target, not N·(target + tolerance): the
 *   groups beyond the target were shrunk and then let go, a loss for nothing. The tolerance now
 *   only caps G_p where rounding to group_divisible needs more, and the projection.
 * - The partition scores a group's magnitude by its norm ‖x_g‖, not ‖x_g‖/|g|, which is smaller
 *   for larger groups whatever their values: it made the ResNet's residual channels (shared by
 *   every block of a stage, so the largest groups) the first to go. The plain norm also favours
 *   removing groups that hold fewer weights.
 * - The original's fixed λ often never reaches the target in a short schedule (a group of norm
 *   ‖x‖ needs about ‖x‖/(α·λ) steps of pull before it is projected). With `deadlineStep` set,
 *   whenever the group sparsity lags a linear schedule that reaches the target at
 *   `deadlineStep`, λ is raised to what the groups still missing need to reach zero by then:
 *   the k-th smallest ‖x_g‖/(α·steps left) over the penalized groups, k being the shortfall.
 */
import { Rng } from '../../util/random.js';
import { leastMeeting } from '../budget.js';
import { DirectionRule } from '../../train/base-optimizers.js';
import type { GroupVector } from '../../train/group-vectors.js';
import type { BaseKind, BaseOptions, Optimizer, OptimizerState, Parameter } from '../../train/optimizer.js';

export interface DhspgOptions {
  base: BaseOptions;
  targetSparsity: number;
  tolerance: number;
  lambda: number;
  amplify: number;
  hatCoeff: number;
  epsilon: number;
  partitionStep: number;
  halfSpaceStep: number;
  /** Each group set keeps a multiple of this many channels. */
  groupDivisible: number;
  /** Each group set keeps at least this fraction of its channels, rounded up (default 0). */
  channelFloor?: number;
  seed: number;
  /** Step by which the target should be reached (adaptive λ); undefined keeps λ fixed. */
  deadlineStep?: number;
  /**
   * Whether removing these ZIGs meets the run's budget of parameters or MACs, measured on the
   * small model (src/methods/budget.ts). The partition then takes the fewest best-scoring groups
   * that meet it, in place of ⌈target·N⌉, and the target is that many zero groups.
   */
  meetsBudget?: (zigs: readonly number[]) => boolean;
}

/** Margin on the λ the adaptive rule computes: the learning rate decays and gradients pull back. */
const ADAPTIVE_MARGIN = 2;

/** The original's defaults per base optimizer (docs/dhspg.md). */
export function dhspgDefaults(kind: BaseKind): Pick<DhspgOptions, 'lambda' | 'amplify' | 'hatCoeff' | 'epsilon' | 'tolerance'> {
  return kind === 'sgd'
    ? { lambda: 1e-3, amplify: 2, hatCoeff: 10, epsilon: 0, tolerance: 0.05 }
    : { lambda: 1e-2, amplify: 20, hatCoeff: 1e3, epsilon: 0, tolerance: 0.05 };
}

export interface GroupGeometry {
  /** ⟨x_g, d_g⟩ */
  xd: number;
  /** ‖x_g‖ */
  nx: number;
  /** ‖d_g‖ */
  nd: number;
}

/**
 * λ_g: λ unless the direction pushes the group away from zero (⟨x,d⟩ < 0); then
 * clip(amplify·(−⟨x,d⟩/‖x‖), λ, λ·hatCoeff), replaced by the midpoint of λ and the bound
 * −‖d‖²‖x‖/⟨x,d⟩ when it exceeds that bound.
 */
export function groupLambda(g: GroupGeometry, lambda: number, amplify: number, hatCoeff: number): number {
  if (g.xd >= 0) return lambda;
  const clipped = Math.min(Math.max(amplify * (-g.xd / g.nx), lambda), lambda * hatCoeff);
  const bound = (-g.nd * g.nd * g.nx) / g.xd;
  return clipped > bound ? (lambda + bound) / 2 : clipped;
}

export interface DhspgStats {
  /** Zero groups / all groups. */
  sparsity: number;
  zeroGroups: number;
  groups: number;
  penalized: number;
  lambda: number;
}

export class Dhspg implements Optimizer {
  private readonly rule: DirectionRule;
  private step_ = 0;
  private readonly penalized: Uint8Array;
  private readonly zero: Uint8Array;
  private partitioned = false;
  private lambdaScale = 1;
  /** Zero groups that meet the budget, once the partition has chosen them (with `meetsBudget`). */
  private budgetGroups?: number;
  /** Per-element extra pull toward zero for this step (α·λ_g/‖x_g‖), 0 outside G_p. */
  private readonly pull: Float32Array[];

  constructor(
    private readonly params: readonly Parameter[],
    private readonly groups: readonly GroupVector[],
    private readonly o: DhspgOptions,
  ) {
    this.rule = new DirectionRule(params, o.base);
    this.penalized = new Uint8Array(groups.length);
    this.zero = new Uint8Array(groups.length);
    this.pull = params.map((p) => new Float32Array(p.data.length));
  }

  get upperBound(): number {
    return Math.min(this.targetFraction + this.o.tolerance, 0.999);
  }

  /** The group sparsity aimed at: the target's, or the one the budget's partition chose. */
  private get targetFraction(): number {
    return this.budgetGroups === undefined ? this.o.targetSparsity : this.budgetGroups / this.groups.length;
  }

  /** The most zero groups the upper bound allows. */
  private get upperGroups(): number {
    return Math.floor(this.groups.length * this.upperBound + 1e-9);
  }

  /** Zero groups that make the target: ⌈target·N⌉, unless that would pass the upper bound. */
  private get targetGroups(): number {
    return this.budgetGroups ?? Math.min(Math.ceil(this.o.targetSparsity * this.groups.length - 1e-9), this.upperGroups);
  }

  stats(): DhspgStats {
    const zeroGroups = this.zero.reduce((a, z) => a + z, 0);
    return {
      sparsity: this.groups.length ? zeroGroups / this.groups.length : 0,
      zeroGroups,
      groups: this.groups.length,
      penalized: this.penalized.reduce((a, z) => a + z, 0),
      lambda: this.o.lambda * this.lambdaScale,
    };
  }

  /** Ids of the ZIGs that are exactly zero. */
  zeroZigs(): number[] {
    return this.groups.filter((_, i) => this.zero[i]).map((g) => g.zig);
  }

  /** Once the target is reached no group is penalized or projected, and zero groups stay zero. */
  settledZeroGroups(): number[] | undefined {
    return this.partitioned && this.stats().zeroGroups >= this.targetGroups ? this.zeroZigs() : undefined;
  }

  step(grads: readonly Float32Array[], lr: number): void {
    const s = this.step_++;
    const d = this.rule.directions(grads);
    if (!this.partitioned && s >= this.o.partitionStep) this.partition(d);
    const active = this.partitioned && this.stats().zeroGroups < this.targetGroups;
    const lambda = this.o.lambda * this.lambdaScale;
    const before = new Map<number, Float32Array>();
    const norms: number[] = [];
    if (active) {
      this.groups.forEach((g, i) => {
        if (!this.penalized[i] || this.zero[i]) return;
        const geo = this.geometry(g, d);
        if (geo.nx === 0) return;
        norms.push(geo.nx);
        const coeff = (lr * groupLambda(geo, lambda, this.o.amplify, this.o.hatCoeff)) / geo.nx;
        for (const part of g.parts) for (const j of part.offsets) this.pull[part.param][j] = coeff;
        before.set(i, this.gather(g));
      });
    }
    const decay = this.rule.decoupledDecay;
    this.params.forEach((p, i) => {
      const x = p.data;
      const di = d[i];
      const pull = this.pull[i];
      for (let j = 0; j < x.length; j++) x[j] = x[j] - lr * (di[j] + decay * x[j]) - pull[j] * x[j];
    });
    for (const pull of this.pull) pull.fill(0);
    if (active && s >= this.o.halfSpaceStep) this.project(before, s);
    this.groups.forEach((g, i) => this.zero[i] && this.setZero(g));
    if (active) this.adapt(s, lr, norms);
  }

  /**
   * Score the groups and choose G_p: the best-scoring groups that make the target, each set
   * keeping channels. When rounding sets to group_divisible leaves G_p short of the target,
   * more groups are taken, up to the upper bound.
   */
  private partition(d: Float32Array[]): void {
    this.partitioned = true;
    const geo = this.groups.map((g) => this.geometry(g, d));
    geo.forEach((q, i) => q.nx === 0 && (this.zero[i] = 1));
    const cos = geo.map((q) => (q.nx > 0 && q.nd > 0 ? q.xd / (q.nx * q.nd) : 0));
    const small = geo.map((q) => (q.nx > 0 ? 1 / q.nx : 0));
    const unit = (v: number[]) => {
      const n = Math.hypot(...v);
      return n > 0 ? v.map((x) => x / n) : v;
    };
    const [c, m] = [unit(cos), unit(small)];
    const order = this.groups.map((_, i) => i).filter((i) => !this.zero[i]).sort((a, b) => 0.5 * (c[b] + m[b]) - 0.5 * (c[a] + m[a]));
    const zero = this.stats().zeroGroups;
    const need = this.targetGroups - zero;
    const most = this.upperGroups - zero;
    // Per set, the channels that may still go: all but groupDivisible, less those already zero.
    const room = new Map<number, number>();
    this.groups.forEach((g, i) => room.set(g.set, (room.get(g.set) ?? -this.o.groupDivisible) + 1 - this.zero[i]));
    // And fewer where the floor keeps more than groupDivisible, unless the target needs them.
    const size = new Map<number, number>();
    this.groups.forEach((g) => size.set(g.set, (size.get(g.set) ?? 0) + 1));
    const floored = new Map([...room].map(([set, r]) => {
      const floor = Math.ceil((this.o.channelFloor ?? 0) * size.get(set)! - 1e-9);
      return [set, r - Math.max(0, floor - this.o.groupDivisible)];
    }));
    if (this.o.meetsBudget) {
      const chosen = this.chooseForBudget(order, room, [floored, room], this.o.meetsBudget);
      for (const i of chosen) this.penalized[i] = 1;
      this.budgetGroups = zero + chosen.length;
      return;
    }
    let chosen: number[] = [];
    for (const cap of [floored, room]) {
      chosen = this.choose(order, room, cap, need);
      for (let budget = need + 1; chosen.length < need && budget <= most; budget++) chosen = this.choose(order, room, cap, budget);
      if (chosen.length >= need) break;
    }
    for (const i of chosen) this.penalized[i] = 1;
  }

  /**
   * The fewest groups of `order` whose removal, with the zero ones, meets the budget: under the
   * floor's caps if they allow it, else under the rooms alone; as many as the rooms allow when
   * nothing meets it.
   */
  private chooseForBudget(
    order: readonly number[],
    room: ReadonlyMap<number, number>,
    caps: readonly ReadonlyMap<number, number>[],
    meetsBudget: (zigs: readonly number[]) => boolean,
  ): number[] {
    const zeroZigs = this.zeroZigs();
    const meets = (picks: readonly number[]) => meetsBudget([...zeroZigs, ...picks.map((i) => this.groups[i].zig)]);
    let chosen: number[] = [];
    for (const cap of caps) {
      chosen = this.choose(order, room, cap, order.length);
      const least = leastMeeting(chosen.length, (k) => meets(this.choose(order, room, cap, k)));
      if (least !== undefined) return this.choose(order, room, cap, least);
    }
    return chosen;
  }

  /**
   * The first `budget` groups of `order` that their sets have `room` for (at most `cap` per set),
   * each set rounded to keep a multiple of group_divisible.
   */
  private choose(order: readonly number[], room: ReadonlyMap<number, number>, cap: ReadonlyMap<number, number>, budget: number): number[] {
    const div = this.o.groupDivisible;
    const picks = new Map<number, number[]>();
    let taken = 0;
    for (const i of order) {
      if (taken >= budget) break;
      const set = this.groups[i].set;
      const list = picks.get(set) ?? [];
      if (list.length + 1 > cap.get(set)!) continue;
      list.push(i);
      picks.set(set, list);
      taken++;
    }
    // Keep a multiple of groupDivisible channels: drop the lowest-scoring picks.
    return [...picks].flatMap(([set, list]) => {
      const extra = (div - ((room.get(set)! + div - list.length) % div)) % div;
      return list.slice(0, list.length - extra);
    });
  }

  /** Zero the G_p groups whose trial point left the half-space {y : ⟨y, x_g⟩ ≥ ε‖x_g‖²}, within the upper bound. */
  private project(before: Map<number, Float32Array>, s: number): void {
    const candidates: number[] = [];
    for (const [i, old] of before) {
      const now = this.gather(this.groups[i]);
      let inner = 0;
      let norm2 = 0;
      for (let k = 0; k < old.length; k++) {
        inner += now[k] * old[k];
        norm2 += old[k] * old[k];
      }
      if (inner < this.o.epsilon * norm2) candidates.push(i);
    }
    const room = this.upperGroups - this.stats().zeroGroups;
    const rng = new Rng(this.o.seed * 1_000_003 + s);
    for (const i of rng.shuffle(candidates).slice(0, Math.max(0, room))) this.zero[i] = 1;
  }

  /** Raise λ while the sparsity lags a linear schedule from halfSpaceStep to deadlineStep (`norms`: of the penalized groups). */
  private adapt(s: number, lr: number, norms: number[]): void {
    const { deadlineStep, halfSpaceStep, lambda } = this.o;
    if (deadlineStep === undefined || s < halfSpaceStep || norms.length === 0 || lr <= 0) return;
    const { sparsity, zeroGroups } = this.stats();
    const progress = Math.min(1, (s - halfSpaceStep + 1) / Math.max(1, deadlineStep - halfSpaceStep));
    if (sparsity >= this.targetFraction * progress) return;
    const shortfall = this.targetGroups - zeroGroups;
    const stepsLeft = Math.max(1, deadlineStep - s);
    const needed = norms.map((nx) => nx / (lr * stepsLeft)).sort((a, b) => a - b);
    const required = ADAPTIVE_MARGIN * needed[Math.min(shortfall, needed.length) - 1];
    this.lambdaScale = Math.max(this.lambdaScale, required / lambda);
  }

  private geometry(g: GroupVector, d: Float32Array[]): GroupGeometry {
    let xd = 0;
    let xx = 0;
    let dd = 0;
    for (const part of g.parts) {
      const x = this.params[part.param].data;
      const dir = d[part.param];
      for (const j of part.offsets) {
        xd += x[j] * dir[j];
        xx += x[j] * x[j];
        dd += dir[j] * dir[j];
      }
    }
    return { xd, nx: Math.sqrt(xx), nd: Math.sqrt(dd) };
  }

  private gather(g: GroupVector): Float32Array {
    const out = new Float32Array(g.size);
    let k = 0;
    for (const part of g.parts) for (const j of part.offsets) out[k++] = this.params[part.param].data[j];
    return out;
  }

  private setZero(g: GroupVector): void {
    for (const part of g.parts) for (const j of part.offsets) this.params[part.param].data[j] = 0;
  }

  saveState(): OptimizerState {
    return {
      ...this.rule.saveState(),
      dhspgStep: this.step_,
      partitioned: this.partitioned ? 1 : 0,
      penalized: Array.from(this.penalized),
      zero: Array.from(this.zero),
      lambdaScale: this.lambdaScale,
      budgetGroups: this.budgetGroups ?? -1,
    };
  }

  loadState(state: OptimizerState): void {
    this.rule.loadState(state);
    this.step_ = state.dhspgStep as number;
    this.partitioned = state.partitioned === 1;
    this.penalized.set(state.penalized as number[]);
    this.zero.set(state.zero as number[]);
    this.lambdaScale = state.lambdaScale as number;
    const budgetGroups = (state.budgetGroups as number | undefined) ?? -1;
    this.budgetGroups = budgetGroups >= 0 ? budgetGroups : undefined;
  }
}
