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
  /** The results file's name when it is not the benchmark's (a mode of it that measures something else). */
  resultsName?: string;
}

export interface ReportRow {
  metric: string;
  value: string;
  /** The target the issue sets, when there is one. */
  target?: string;
  met?: boolean;
}

export { median } from '../src/util/stats.js';

/** A comma list from the environment (`all` when unset), each entry checked. */
export function envList(name: string, all: string[], valid = (v: string) => all.includes(v), expected = `one of ${all.join(', ')}`): string[] {
  const list = process.env[name]?.split(',').map((v) => v.trim()) ?? all;
  const bad = list.filter((v) => !valid(v));
  if (bad.length) throw new BenchmarkSetupError(`${name}: ${bad.join(', ')} is not ${expected}`);
  return list;
}

export function formatTable(rows: ReportRow[]): string {
  const cells = rows.map((r) => [r.metric, r.value, r.target ?? '', r.met === undefined ? '' : r.met ? 'met' : 'MISSED']);
  const header = ['metric', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
