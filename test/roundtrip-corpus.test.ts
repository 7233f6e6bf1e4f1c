import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusManifest, corpusModel, corpusTestSet } from './paths.js';
import {
  fedInputNames,
  outputDifference,
  readTestDataFeeds,
  roundTripDifference,
  roundTripFile,
  runModel,
} from './roundtrip-check.js';

const workDir = mkdtempSync(join(tmpdir(), 'otoc-roundtrip-corpus-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('round trip of every corpus model', () => {
  for (const { name } of corpusManifest()) {
    it(`${name}: equal IR, bit-identical onnxruntime outputs`, async () => {
      const written = join(workDir, `${name}.onnx`);
      const rt = roundTripFile(corpusModel(name), written);
      expect(roundTripDifference(rt)).toBeNull();

      const feeds = readTestDataFeeds([corpusTestSet(name)], fedInputNames(rt.original));
      const expected = await runModel(rt.originalBytes, feeds);
      expect(outputDifference(expected, await runModel(rt.writtenBytes, feeds))).toBeNull();
      rmSync(written);
    });
  }
});
