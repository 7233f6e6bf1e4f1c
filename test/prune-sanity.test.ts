/**
 * The sanity check of ZIG analysis + pruning (issue 3): zero a random fraction of the groups of
 * every group set, prune, and check in onnxruntime that the small model computes what the full
 * (zeroed) model computes, on the stored test input and on 4 random inputs.
 */
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../src/onnx/read.js';
import { readModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { findProblems } from '../src/ir/validate.js';
import type { Model } from '../src/ir/graph.js';
import { compareOutputs } from '../src/runtime/compare-outputs.js';
import { inputSets } from '../src/runtime/inputs.js';
import { createSession, runSession, type Feeds } from '../src/runtime/ort.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel, randomZero } from '../src/pipeline/prune.js';
import { ZOO } from '../models/zoo.js';
import { corpusManifest, corpusModel, corpusTestSet } from './paths.js';

const FRACTIONS = [0.3, 0.7];
const SEEDS = [0, 1];

interface Subject {
  name: string;
  load: () => Model;
  testSet?: string;
}

const subjects: Subject[] = [
  ...corpusManifest().map((m) => ({ name: m.name, load: () => readModel(corpusModel(m.name)), testSet: corpusTestSet(m.name) })),
  ...ZOO.map((z) => ({ name: `zoo:${z.name}`, load: () => z.build({ input: [1, 28, 28], classes: 10, seed: 3 }) })),
];

async function expectEquivalent(full: Uint8Array, small: Model, testSet: string | undefined): Promise<void> {
  const smallBytes = encodeModel(small).model;
  const [a, b] = [await createSession(full), await createSession(smallBytes)];
  const model = decodeModel(full);
  const feeds: Feeds[] = [
    ...(testSet ? inputSets({ kind: 'test-data', dir: testSet }, model, a.inputNames) : []),
    ...inputSets({ kind: 'random', count: 4, seed: 7, shapes: new Map() }, model, a.inputNames),
  ];
  for (const f of feeds) {
    const [ya, yb] = [await runSession(a, f), await runSession(b, f)];
    ya.forEach((y, i) => {
      const c = compareOutputs(y, yb[i], { atol: 0, rtol: 0 });
      expect(c.nonFiniteMismatches).toBe(0);
      expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, c.maxAbsReference));
    });
  }
}

describe.each(subjects)('prune sanity check: $name', (subject) => {
  it.each(FRACTIONS.flatMap((f) => SEEDS.map((seed) => ({ f, seed }))))(
    'random-zero $f, seed $seed: small model is equivalent',
    async ({ f, seed }) => {
      const outcome = pruneModel(analyzeModel(subject.load()), { zero: randomZero(f, seed) });
      if (outcome.prunableGroups === 0) {
        console.log(`${subject.name}: 0 prunable groups`);
      }
      if (outcome.removedGroups > 0) expect(outcome.after.parameters).toBeLessThan(outcome.before.parameters);
      expect(findProblems(outcome.small)).toEqual([]);
      await expectEquivalent(outcome.full, outcome.small, subject.testSet);
    },
  );
});
