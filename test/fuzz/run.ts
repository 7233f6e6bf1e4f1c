/**
 * The fuzzer from the command line (the long run; `make test` runs a short one in fuzz.test.ts):
 *
 *   npx tsx test/fuzz/run.ts --cases 50000 --workers 2          # a run, with its figures
 *   npx tsx test/fuzz/run.ts --seed 7 --case 1234 --save x.onnx  # one case again, to debug it
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fuzzCase, readCorpus } from './cases.js';
import { failureKinds, fuzz, type FuzzSummary } from './harness.js';
import { FUZZ_MODELS } from './models.js';
import { runStages } from './stages.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    cases: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '2' },
    'time-limit': { type: 'string', default: '10000' },
    case: { type: 'string' },
    save: { type: 'string' },
    json: { type: 'string' },
  },
});
const seed = Number(values.seed);

if (values.case !== undefined) {
  const c = fuzzCase(readCorpus(FUZZ_MODELS), seed, Number(values.case));
  console.log(`case ${values.case} of seed ${seed}: ${c.model}, random zero ${c.randomZero} (seed ${c.pruneSeed})`);
  for (const step of c.steps) console.log(`  ${step}`);
  if (values.save) writeFileSync(values.save, c.bytes);
  const dir = mkdtempSync(join(tmpdir(), 'otoc-fuzz-'));
  const print = console.log;
  console.log = () => {};
  try {
    print(runStages(c.bytes, dir, c.randomZero, c.pruneSeed));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const summary = await fuzz({
    seed,
    cases: Number(values.cases),
    models: FUZZ_MODELS,
    workers: Number(values.workers),
    timeLimitMs: Number(values['time-limit']),
    memoryLimitMb: 1024,
    onProgress: (s) => process.stderr.write(`\r${s.cases} cases: ${s.refused} refused, ${s.accepted} accepted, ${s.internalErrors.length} internal errors, ${s.hangs.length} hangs`),
  });
  process.stderr.write('\n');
  console.log(report(summary));
  if (values.json) writeFileSync(values.json, JSON.stringify(summary, null, 2));
  process.exitCode = summary.internalErrors.length + summary.hangs.length ? 1 : 0;
}

function report(s: FuzzSummary): string {
  const lines = [
    `seed ${s.seed}: ${s.cases} cases in ${s.seconds.toFixed(0)} s`,
    `  clean refusals:  ${s.refused} (${Object.entries(s.refusedAt).map(([stage, n]) => `${stage} ${n}`).join(', ')})`,
    `  accepted:        ${s.accepted}`,
    `  internal errors: ${s.internalErrors.length}`,
    `  hangs:           ${s.hangs.length}`,
    `  slowest case:    ${s.slowest.ms} ms (case ${s.slowest.index}, ${s.slowest.model})`,
  ];
  const kinds = Object.entries(s.refusalKinds).sort((a, b) => b[1] - a[1]);
  lines.push(`  refusals, by kind (${kinds.length} kinds; the 25 most frequent):`);
  for (const [kind, n] of kinds.slice(0, 25)) lines.push(`    ${String(n).padStart(6)}  ${kind}`);
  for (const kind of failureKinds([...s.internalErrors, ...s.hangs])) {
    lines.push(`  ${kind.count} × ${kind.message}`, `      e.g. case ${kind.example.index} (${kind.example.model}): ${kind.example.steps.join('; ')}`);
  }
  return lines.join('\n');
}
