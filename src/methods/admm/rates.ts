/**
 * Per-set pruning rates: how many groups of each set a rate removes (within the channel floor and
 * --group-divisible), the groups it removes (the smallest norms), the factor that scales a rate
 * vector onto a measured budget, and rates files keyed by each set's stem node names.
 */
import type { GroupAnalysis } from '../../../passes/analyze-groups.js';
import { groupNorms, smallestGroupsPerSet } from '../../../passes/select-groups.js';
import { removedParameters } from '../../groups-report/report.js';
import { OtocError } from '../../errors.js';
import type { BudgetMeter } from '../budget.js';
import type { PruningTarget } from '../target.js';

/** The group sets a rate applies to, and what each must keep. */
export interface RateSets {
  /** Indices into the analysis' group sets: those with a group that may go. */
  sets: number[];
  /** Prunable groups of each of `sets`. */
  sizes: number[];
  /** The fewest groups each of `sets` keeps: one, or the channel floor's share. */
  least: number[];
  /** Parameters the groups of each of `sets` hold (the experience rule's order). */
  parameters: number[];
  /** Each set's stem node names: its key in rates files and reports. */
  stems: string[][];
  divisible: number;
}

export function rateSets(analysis: GroupAnalysis, target: Pick<PruningTarget, 'channelFloor' | 'groupDivisible'>): RateSets {
  const out: RateSets = { sets: [], sizes: [], least: [], parameters: [], stems: [], divisible: target.groupDivisible };
  analysis.groupSets.forEach((set, i) => {
    const n = set.zigs.filter((z) => z.prunable).length;
    const least = Math.max(1, Math.ceil(target.channelFloor * n - 1e-9));
    if (n - least < 1) return;
    out.sets.push(i);
    out.sizes.push(n);
    out.least.push(least);
    out.parameters.push(removedParameters(set.zigs.filter((z) => z.prunable)));
    out.stems.push(stemNames(analysis, i));
  });
  return out;
}

export function stemNames(analysis: GroupAnalysis, set: number): string[] {
  return analysis.groupSets[set].stems.map((n) => n.name || n.label()).sort();
}

/**
 * Groups each set removes at `rates` (one per set of `r`): round(rate·n), the kept ones rounded up
 * to a multiple of --group-divisible; undefined when a rate would take a set below what it keeps
 * (empty it, or break the channel floor).
 */
export function removedCounts(r: RateSets, rates: readonly number[]): number[] | undefined {
  const counts: number[] = [];
  for (let i = 0; i < r.sets.length; i++) {
    const n = r.sizes[i];
    const wanted = Math.round(Math.max(0, rates[i]) * n);
    if (n - wanted < r.least[i]) return undefined;
    const kept = Math.min(n, Math.ceil((n - wanted) / r.divisible) * r.divisible);
    counts.push(n - kept);
  }
  return counts;
}

/** The groups of smallest norm that `counts` removes from each set (the norms of the weights as they are, by default). */
export function selection(analysis: GroupAnalysis, r: RateSets, counts: readonly number[], norms = groupNorms(analysis)): number[] {
  const count = new Map(r.sets.map((set, i) => [set, counts[i]]));
  const sizes = new Map(r.sets.map((set, i) => [set, r.sizes[i]]));
  return smallestGroupsPerSet(analysis, (set) => (count.get(set) ?? 0) / (sizes.get(set) ?? 1), norms);
}

/** The rate vector each set's removal count gives. */
export function ratesOf(r: RateSets, counts: readonly number[]): number[] {
  return counts.map((c, i) => c / r.sizes[i]);
}

/**
 * `rates` scaled by the least factor that meets the meter's budget, as removal counts (measured on
 * the model pruned of the smallest groups); undefined when the budget needs a factor at which some
 * set would lose more than it may (the state is rejected).
 */
export function scaleToBudget(
  analysis: GroupAnalysis,
  r: RateSets,
  rates: readonly number[],
  meter: BudgetMeter,
  norms = groupNorms(analysis),
): number[] | undefined {
  const ceiling = Math.min(...rates.map((rate, i) => (rate > 0 ? (r.sizes[i] - r.least[i] + 0.49) / (r.sizes[i] * rate) : Infinity)));
  if (!Number.isFinite(ceiling)) return undefined;
  const countsAt = (factor: number) => removedCounts(r, rates.map((rate) => rate * factor));
  const meets = (factor: number) => {
    const counts = countsAt(factor);
    return counts !== undefined && meter.meets(selection(analysis, r, counts, norms));
  };
  if (!meets(ceiling)) return undefined;
  let [low, high] = [0, ceiling];
  for (let i = 0; i < 40 && high - low > 1e-6 * ceiling; i++) {
    const mid = (low + high) / 2;
    if (meets(mid)) high = mid;
    else low = mid;
  }
  return countsAt(high);
}

/** A rates file: `{ "rates": [{ "stems": ["conv1"], "rate": 0.5 }, …] }`, each entry a group set named by its stem nodes (as `otoc groups` and the report's `method.rates` name them). */
export interface RatesFile {
  rates: { stems: string[]; rate: number }[];
}

/** A rates file's content, checked; an OtocError names the file and the bad entry. */
export function parseRatesFile(json: unknown, file: string): RatesFile {
  const entries = (json as { rates?: unknown } | null)?.rates;
  if (!Array.isArray(entries)) throw new OtocError('a rates file holds { "rates": [{ "stems": [...], "rate": 0.5 }, ...] }', file);
  for (const e of entries as { stems?: unknown; rate?: unknown }[]) {
    const stems = e?.stems;
    if (!Array.isArray(stems) || !stems.every((x) => typeof x === 'string') || typeof e.rate !== 'number' || !(e.rate >= 0 && e.rate < 1)) {
      throw new OtocError(`every entry needs "stems" (node names) and a "rate" in [0, 1), got ${JSON.stringify(e)}`, file);
    }
  }
  return { rates: (entries as RatesFile['rates']).map((e) => ({ stems: [...e.stems], rate: e.rate })) };
}

/** The rate of each of `r`'s sets (0 for the sets the file does not name); an OtocError names stems no set has. */
export function ratesFor(analysis: GroupAnalysis, r: RateSets, file: RatesFile, name: string): number[] {
  const byKey = new Map(file.rates.map((e) => [key(e.stems), e.rate]));
  const known = new Set(analysis.groupSets.map((_, i) => key(stemNames(analysis, i))));
  const unknown = [...byKey.keys()].filter((k) => !known.has(k));
  if (unknown.length) throw new OtocError(`no group set of the model has the stems ${unknown.map((k) => `[${k}]`).join(', ')} (otoc groups lists them)`, name);
  return r.stems.map((stems) => byKey.get(key(stems)) ?? 0);
}

function key(stems: readonly string[]): string {
  return [...stems].sort().join(', ');
}
