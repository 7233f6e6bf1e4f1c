/**
 * The compression benchmark's verdict over every run on disk: per protocol and model, the mean
 * test accuracy of each run over its seeds, and issue 5's target at 0.7 (DHSPG within half a
 * point of the dense baseline and above the magnitude baseline, on the seeds that have all three).
 */
import type { ReportRow } from './harness.js';

export interface Size {
  parameters: number;
  macs: number;
  latencyMs: number;
}

export interface RunResult {
  protocol: string;
  model: string;
  run: string;
  seed: number;
  /** Test accuracy of the model that was trained (dense, or the full DHSPG model) and of the small one. */
  testAccuracy: { full: number; small: number };
  full: Size;
  small: Size;
  groupSparsity?: number;
  trainSeconds: number;
  imagesPerSecond: number;
  /**
   * DHSPG runs that trained the network without the zero groups once they were settled
   * (TrainConfig.shrink): the first step on it. Absent: the full network throughout (every run
   * before the shrink existed, and OTOC_BENCH_SHRINK=0).
   */
  smallNetworkFromStep?: number;
}

/** The largest loss against dense, in accuracy points, that meets the target. */
export const TARGET_LOSS_POINTS = 0.5;
const TARGET_RUNS = { dense: 'dense', dhspg: 'dhspg-0.7', magnitude: 'magnitude' } as const;

export interface ModelSummary {
  protocol: string;
  model: string;
  /** Mean small-model test accuracy over the seeds each run has. */
  means: { run: string; seeds: number[]; accuracy: number }[];
  /** Present when some seed has the dense, DHSPG@0.7 and magnitude runs. */
  target?: TargetVerdict;
}

export interface TargetVerdict {
  seeds: number[];
  /** Mean accuracies over `seeds`, and DHSPG's difference to dense in points (to 0.01, one test image in 10,000). */
  dense: number;
  dhspg: number;
  magnitude: number;
  deltaPoints: number;
  met: boolean;
}

export function summarize(runs: readonly RunResult[]): ModelSummary[] {
  const byModel = groupBy(runs, (r) => `${r.protocol} ${r.model}`);
  return [...byModel.values()].map((modelRuns) => {
    const byRun = groupBy(modelRuns, (r) => r.run);
    const means = [...byRun].map(([run, rs]) => ({ run, seeds: rs.map((r) => r.seed).sort((a, b) => a - b), accuracy: meanAccuracy(rs) }));
    return { protocol: modelRuns[0].protocol, model: modelRuns[0].model, means, target: targetVerdict(byRun) };
  });
}

function targetVerdict(byRun: Map<string, RunResult[]>): TargetVerdict | undefined {
  const [dense, dhspg, magnitude] = [TARGET_RUNS.dense, TARGET_RUNS.dhspg, TARGET_RUNS.magnitude].map((run) => byRun.get(run) ?? []);
  const seeds = dense.map((r) => r.seed).filter((s) => dhspg.some((r) => r.seed === s) && magnitude.some((r) => r.seed === s));
  if (seeds.length === 0) return undefined;
  const on = (rs: RunResult[]) => meanAccuracy(rs.filter((r) => seeds.includes(r.seed)));
  const means = { dense: on(dense), dhspg: on(dhspg), magnitude: on(magnitude) };
  const deltaPoints = Math.round(1e4 * (means.dhspg - means.dense)) / 100;
  return { seeds: seeds.sort((a, b) => a - b), ...means, deltaPoints, met: deltaPoints >= -TARGET_LOSS_POINTS && means.dhspg > means.magnitude };
}

export function summaryRows(summaries: readonly ModelSummary[]): ReportRow[] {
  return summaries.flatMap((s) => {
    const means: ReportRow[] = s.means.map((m) => ({
      metric: `${s.protocol} ${s.model} ${m.run} mean`,
      value: `test acc ${percent(m.accuracy)} over seeds ${m.seeds.join(',')}`,
    }));
    const t = s.target;
    if (!t) return means;
    return [
      ...means,
      {
        metric: `${s.protocol} ${s.model} ${TARGET_RUNS.dhspg} vs dense`,
        value: `${t.deltaPoints >= 0 ? '+' : ''}${t.deltaPoints.toFixed(2)} pt (${percent(t.dhspg)} vs ${percent(t.dense)}, magnitude ${percent(t.magnitude)}; seeds ${t.seeds.join(',')})`,
        target: `>= -${TARGET_LOSS_POINTS} pt, above magnitude`,
        met: t.met,
      },
    ];
  });
}

function meanAccuracy(runs: readonly RunResult[]): number {
  return runs.reduce((a, r) => a + r.testAccuracy.small, 0) / runs.length;
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)}%`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}
