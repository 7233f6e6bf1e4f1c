/**
 * otoc's benchmarks (`make bench`). Each is a module exporting a `Benchmark`; register it in
 * BENCHMARKS. Results go to bench/results/<name>.json.
 *
 *   node --expose-gc dist/bench/run.js [name...]    (all benchmarks when no name is given)
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../src/io/atomic.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { Benchmark, BenchmarkSetupError, formatTable } from './harness.js';
import { autocompressFmnist } from './autocompress-fmnist.js';
import { compressFmnist } from './compress-fmnist.js';
import { coverage } from './coverage.js';
import { distillFmnist } from './distill-fmnist.js';
import { parseWrite } from './parse-write.js';
import { pemnFmnist } from './pemn-fmnist.js';
import { searchEval } from './search-eval.js';
import { startup } from './startup.js';
import { trainSpeed } from './train-speed.js';

const BENCHMARKS: Benchmark[] = [parseWrite, startup, trainSpeed, compressFmnist, coverage, pemnFmnist, distillFmnist, searchEval, autocompressFmnist];
const RESULTS_DIR = join(PACKAGE_ROOT, 'bench', 'results');

const names = process.argv.slice(2);
const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
if (!globalThis.gc) console.warn('note: run node with --expose-gc so that timings start from a collected heap');

const machine = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
};
for (const bench of BENCHMARKS.filter((b) => names.length === 0 || names.includes(b.name))) {
  console.log(`\n${bench.name}: ${bench.description}\n`);
  const { rows, results, resultsName } = await bench.run().catch((e: unknown) => {
    if (!(e instanceof BenchmarkSetupError)) throw e;
    console.error(`bench: ${bench.name}: ${e.message}`);
    process.exit(2);
  });
  console.log(formatTable(rows));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${resultsName ?? bench.name}.json`);
  const record = { benchmark: bench.name, description: bench.description, date: new Date().toISOString(), machine };
  writeFileAtomically(path, `${JSON.stringify({ ...record, ...results }, null, 2)}\n`);
  console.log(`\nresults: ${path}`);
}
