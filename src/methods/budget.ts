/**
 * Budgets measured on the small model (target.ts): a candidate set of groups to remove meets the
 * budget when the model pruned of them, counted as `otoc inspect` counts, keeps at most the
 * budget's share of the reference model's parameters, MACs or prunable groups. Methods reach a
 * budget by an iterative solve over the groups to zero (the fewest in their order that meet it),
 * never by adding up costs per group: a channel's cost depends on the channels around it.
 */
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import { PrunedAccounting, type PrunedCounts } from '../../passes/pruned-accounting.js';
import type { PruningTarget } from './target.js';

/** What a budget counts: parameters, MACs, or prunable groups (a group-sparsity target). */
export type GoalKind = 'params' | 'macs' | 'groups';

export interface BudgetGoal {
  kind: GoalKind;
  /** The most of the reference's count the pruned model may keep. */
  keep: number;
}

/** The goal a target sets: its budget, or the groups its group sparsity leaves. */
export function goalOf(target: PruningTarget): BudgetGoal {
  return target.budget ? { kind: target.budget.kind, keep: target.budget.keep } : { kind: 'groups', keep: 1 - target.targetSparsity };
}

export function countOf(counts: PrunedCounts, kind: GoalKind): number {
  return kind === 'params' ? counts.parameters : kind === 'macs' ? counts.macs : counts.groups;
}

/** Measures candidate prunings of one model against a goal. */
export class BudgetMeter {
  readonly accounting: PrunedAccounting;
  /** The counts the goal's share is of: the model's own unless given (a model already pruned by earlier rounds). */
  readonly reference: PrunedCounts;

  constructor(
    analysis: GroupAnalysis,
    readonly goal: BudgetGoal,
    options: { reference?: PrunedCounts; shapes?: Record<string, number[]> } = {},
  ) {
    this.accounting = new PrunedAccounting(analysis, new Map(Object.entries(options.shapes ?? {})));
    this.reference = options.reference ?? this.accounting.full;
  }

  /** The share of the reference's count that the model keeps once `ids` are removed. */
  kept(ids: readonly number[]): number {
    const of = countOf(this.reference, this.goal.kind);
    return of > 0 ? countOf(this.accounting.count(ids), this.goal.kind) / of : 0;
  }

  meets(ids: readonly number[]): boolean {
    return this.kept(ids) <= this.goal.keep + 1e-12;
  }
}

/**
 * The least k in [0, max] for which `meets(k)` holds, by bisection, for candidates that grow with
 * k; undefined when even `max` does not meet it. The answer always meets it.
 */
export function leastMeeting(max: number, meets: (k: number) => boolean): number | undefined {
  if (!meets(max)) return undefined;
  let [low, high] = [0, max];
  while (low < high) {
    const k = Math.floor((low + high) / 2);
    if (meets(k)) high = k;
    else low = k + 1;
  }
  return high;
}
