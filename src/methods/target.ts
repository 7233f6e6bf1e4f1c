/** What every pruning method aims at: a fraction of the prunable groups to remove, or a budget of parameters or MACs, and how each group set may shrink. */
import { OtocError } from '../errors.js';

/** What a budget counts, as `otoc inspect` counts it. */
export type BudgetKind = 'params' | 'macs';

/**
 * Keep at most `keep` of the full model's parameters or MACs, measured on the small model itself
 * (keep is not additive over groups: dropping a channel also shrinks the next layer's slices).
 */
export interface Budget {
  kind: BudgetKind;
  keep: number;
  /** Input sizes the MACs are counted at (--shape), by input name. */
  shapes?: Record<string, number[]>;
}

export interface PruningTarget {
  /**
   * Fraction of the prunable groups to remove. With a budget, the group sparsity that keeps about
   * that share (nominalSparsity): it sets the defaults that follow the target, while the method
   * picks the groups until the measured budget is met.
   */
  targetSparsity: number;
  /** Each group set keeps a multiple of this many channels. */
  groupDivisible: number;
  /** Each group set keeps at least this fraction of its channels, rounded up, while the target allows. */
  channelFloor: number;
  /** A budget of parameters or MACs in place of the group sparsity. */
  budget?: Budget;
}

/**
 * The default channel floor for a target group sparsity: none up to 0.7, then each group set
 * keeps a share of its channels that grows linearly to 7.5% at 0.9 (never more than 0.75 of
 * what the target leaves); docs/dhspg-experiments.md has the runs that chose it.
 */
export function defaultChannelFloor(targetSparsity: number): number {
  const ramp = Math.max(0, Math.min(1, (targetSparsity - 0.7) / 0.2));
  return Math.min(0.75 * (1 - targetSparsity), 0.075 * ramp);
}

/**
 * The group sparsity that keeps about `keep` of a conv net's parameters or MACs: both shrink
 * about as the square of the channels kept, since a layer loses input and output channels.
 */
export function nominalSparsity(keep: number): number {
  return 1 - Math.sqrt(keep);
}

export const DEFAULT_TARGET_SPARSITY = 0.7;

export interface TargetArgs {
  targetSparsity?: number;
  targetParams?: number;
  targetMacs?: number;
  groupDivisible: number;
  channelFloor?: number;
}

/** The target the command line asks for (at most one of the three targets); an OtocError names a bad option. */
export function pruningTarget(args: TargetArgs, shapes?: ReadonlyMap<string, number[]>): PruningTarget {
  const fraction = (flag: string, v: number, min: number, max: number) => {
    if (!(v >= min && v <= max)) throw new OtocError(`${flag} must be between ${min} and ${max}, got ${v}`);
  };
  const given = (['targetSparsity', 'targetParams', 'targetMacs'] as const).filter((k) => args[k] !== undefined);
  if (given.length > 1) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new OtocError(`give at most one of --target-sparsity, --target-params and --target-macs (got ${given.map(flag).join(' and ')})`);
  }
  let budget: Budget | undefined;
  if (args.targetParams !== undefined || args.targetMacs !== undefined) {
    const kind: BudgetKind = args.targetParams !== undefined ? 'params' : 'macs';
    const keep = (args.targetParams ?? args.targetMacs)!;
    fraction(kind === 'params' ? '--target-params' : '--target-macs', keep, 0.001, 1);
    budget = { kind, keep, ...(kind === 'macs' && shapes?.size ? { shapes: Object.fromEntries(shapes) } : {}) };
  }
  const targetSparsity = budget ? nominalSparsity(budget.keep) : (args.targetSparsity ?? DEFAULT_TARGET_SPARSITY);
  fraction('--target-sparsity', targetSparsity, 0, 0.999);
  const channelFloor = args.channelFloor ?? defaultChannelFloor(targetSparsity);
  fraction('--channel-floor', channelFloor, 0, 1);
  if (!(Number.isInteger(args.groupDivisible) && args.groupDivisible >= 1)) throw new OtocError('--group-divisible must be a positive integer');
  return { targetSparsity, groupDivisible: args.groupDivisible, channelFloor, ...(budget && { budget }) };
}
