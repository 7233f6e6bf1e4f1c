/** What every pruning method aims at: a fraction of the prunable groups to remove, and how each group set may shrink. */
import { OtocError } from '../errors.js';

export interface PruningTarget {
  /** Fraction of the prunable groups to remove. */
  targetSparsity: number;
  /** Each group set keeps a multiple of this many channels. */
  groupDivisible: number;
  /** Each group set keeps at least this fraction of its channels, rounded up, while the target allows. */
  channelFloor: number;
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

export interface TargetArgs {
  targetSparsity: number;
  groupDivisible: number;
  channelFloor?: number;
}

/** The target the command line asks for; an OtocError names a bad option. */
export function pruningTarget(args: TargetArgs): PruningTarget {
  const fraction = (flag: string, v: number, max: number) => {
    if (!(v >= 0 && v <= max)) throw new OtocError(`${flag} must be between 0 and ${max}, got ${v}`);
  };
  fraction('--target-sparsity', args.targetSparsity, 0.999);
  const channelFloor = args.channelFloor ?? defaultChannelFloor(args.targetSparsity);
  fraction('--channel-floor', channelFloor, 1);
  if (!(Number.isInteger(args.groupDivisible) && args.groupDivisible >= 1)) throw new OtocError('--group-divisible must be a positive integer');
  return { targetSparsity: args.targetSparsity, groupDivisible: args.groupDivisible, channelFloor };
}
