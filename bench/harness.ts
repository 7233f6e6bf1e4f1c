/** What every benchmark module provides to `bench/run.ts`. */
export interface Benchmark {
  /** Command-line name, and the name of its results file `bench/results/<name>.json`. */
  readonly name: string;
  readonly description: string;
  run(): Promise<BenchmarkReport>;
}

/** A bad benchmark selection (an environment variable): `bench/run.ts` prints it as one line and exits 2. */
export class BenchmarkSetupError extends Error {}

export interface BenchmarkReport {
  /** Printed as a table. */
  rows: ReportRow[];
  /** Everything measured, saved as JSON. */
  results: Record<string, unknown>;
}

export interface ReportRow {
  metric: string;
  value: string;
  /** The target the issue sets, when there is one. */
  target?: string;
  met?: boolean;
}

export { median } from '../src/util/stats.js';

export function formatTable(rows: ReportRow[]): string {
  const cells = rows.map((r) => [r.metric, r.value, r.target ?? '', r.met === undefined ? '' : r.met ? 'met' : 'MISSED']);
  const header = ['metric', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
