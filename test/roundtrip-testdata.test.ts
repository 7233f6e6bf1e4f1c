import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeModel } from '../src/onnx/write.js';
import { CORPUS, TESTDATA, corpusManifest, corpusModel } from './paths.js';
import {
  fedInputNames,
  irVersionOf,
  loadSession,
  modelsUnder,
  nondeterminism,
  outputDifference,
  readTestDataFeeds,
  roundTripDifference,
  roundTripFile,
  runAndRelease,
  runModel,
  testDataSets,
  unfeedable,
} from './roundtrip-check.js';
import { tinyModelFeeds, tinyModelOfIrVersion } from './tiny-models.js';

const MODELS = modelsUnder(TESTDATA);
const workDir = mkdtempSync(join(tmpdir(), 'otoc-roundtrip-'));

/** How a model's outputs were checked, besides the IR equality that every model gets. */
enum Check {
  BitIdentical = 'bit-identical onnxruntime outputs',
  Nondeterministic = '(a) nondeterministic op',
  Unfeedable = '(b) onnxruntime-node cannot feed it',
  Unloadable = '(c) onnxruntime cannot load it',
}
const checked = new Map<Check, { model: string; why?: string }[]>(Object.values(Check).map((c) => [c, []]));
let testDataSetsCompared = 0;

function record(check: Check, model: string, why?: string): void {
  checked.get(check)!.push({ model, why });
}

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  printSummary();
});

describe(`round trip of every model in ${TESTDATA}`, () => {
  for (const { category, name, dir } of MODELS) {
    const model = `${category}/${name}`;
    it(model, async () => {
      const rt = roundTripFile(join(dir, 'model.onnx'), join(workDir, `${category}__${name}.onnx`));
      expect(roundTripDifference(rt)).toBeNull();

      const random = nondeterminism(rt.original);
      if (random) return record(Check.Nondeterministic, model, random);
      const cannotFeed = unfeedable(rt.original);
      if (cannotFeed) return record(Check.Unfeedable, model, cannotFeed);
      const feeds = readTestDataFeeds(testDataSets(dir), fedInputNames(rt.original));
      const original = await loadSession(rt.originalBytes);
      if ('error' in original) return record(Check.Unloadable, model, original.error);

      const expected = await runAndRelease(original.session, feeds);
      expect(outputDifference(expected, await runModel(rt.writtenBytes, feeds))).toBeNull();
      testDataSetsCompared += feeds.length;
      record(Check.BitIdentical, model);
    });
  }
});

const REQUIRED_IR_VERSIONS = [3, 4, 5, 6, 7, 8, 9, 10];
const irVersions = histogram(
  [...MODELS.map((m) => join(m.dir, 'model.onnx')), ...corpusManifest().map((m) => corpusModel(m.name))].map(
    (path) => irVersionOf(readFileSync(path)) ?? 0,
  ),
);
const missingIrVersions = REQUIRED_IR_VERSIONS.filter((v) => !irVersions.has(v));

describe(`IR versions that neither the test data nor ${CORPUS} has`, () => {
  it.each(missingIrVersions)('a tiny model of IR version %i round-trips', async (irVersion) => {
    const path = join(workDir, `tiny_ir${irVersion}.onnx`);
    writeModel(tinyModelOfIrVersion(irVersion), path);
    const rt = roundTripFile(path, join(workDir, `tiny_ir${irVersion}.written.onnx`));
    expect(rt.written.irVersion).toBe(irVersion);
    expect(roundTripDifference(rt)).toBeNull();
    const feeds = tinyModelFeeds();
    const expected = await runModel(rt.originalBytes, feeds);
    expect(outputDifference(expected, await runModel(rt.writtenBytes, feeds))).toBeNull();
  });
});

function histogram(values: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => a - b));
}

function printSummary(): void {
  const passed = [...checked.values()].reduce((n, list) => n + list.length, 0);
  const folders = readdirSync(TESTDATA)
    .sort()
    .map((folder) => [folder, MODELS.filter((m) => m.category === folder).length] as const)
    .map(([folder, n]) => `${folder} ${n}${n === 0 ? ' (it holds no model.onnx)' : ''}`);
  const lines = [
    `libonnx-testdata round trip: ${passed}/${MODELS.length} models passed`,
    `  models per folder: ${folders.join(', ')}`,
    `  all: equal IR and equal protobuf messages after parse → write → parse`,
    `  ${Check.BitIdentical}, original vs round-tripped: ` +
      `${checked.get(Check.BitIdentical)!.length} models, ${testDataSetsCompared} test_data_sets`,
    `  IR equality only:`,
  ];
  for (const check of [Check.Nondeterministic, Check.Unfeedable, Check.Unloadable]) {
    const models = checked.get(check)!;
    lines.push(`    ${check}: ${models.length}`, ...models.map(({ model, why }) => `      ${model}: ${why}`));
  }
  const versions = [...irVersions].map(([v, n]) => `IR ${v} ×${n}`).join(', ');
  lines.push(`  IR versions of the test data and corpus files: ${versions}`);
  const built = missingIrVersions.map((v) => `IR ${v}`).join(', ') || 'none';
  lines.push(`  built as tiny models because no file has them: ${built}`);
  console.log(lines.join('\n'));
}
