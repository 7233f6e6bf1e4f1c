/**
 * What the ONNX spec forbids, otoc refuses before doing any work (issue 26, item 9): every
 * hand-built invalid model of invalid-models.ts is refused by onnxruntime (at load, or when it
 * runs on zero inputs) and by otoc's load check with one line naming the node, exit code 2.
 */
import ort from 'onnxruntime-node';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkModel } from '../src/cli/load-model.js';
import { OtocError } from '../src/errors.js';
import { dataTypeInfo } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { dimsToShape } from '../src/ir/types.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { toOrt } from '../src/runtime/ort.js';
import { ensureBuilt, otoc } from './cli.js';
import { TESTDATA, corpusManifest, corpusModel } from './paths.js';
import { modelsUnder } from './roundtrip-check.js';
import { readModel } from '../src/onnx/read.js';
import { BEYOND_ONNXRUNTIME, INVALID_CASES } from './invalid-models.js';

/** Why onnxruntime refuses the model (at load, or run on zero inputs of the declared shapes), or null when it accepts it. */
async function onnxruntimeRefusal(model: Model, bytes: Uint8Array): Promise<string | null> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  } catch (e) {
    return `load: ${(e as Error).message.split('\n')[0]}`;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of model.graph.inputs) {
      if (v.constant || v.type?.kind !== 'tensor') continue;
      const dims = dimsToShape(v.type.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
      const data = new (dataTypeInfo(v.type.elemType).array!)(dims.reduce((a, b) => a * b, 1));
      feeds[v.name] = toOrt({ name: v.name, dataType: v.type.elemType, dims, data, storage: { kind: 'raw' } });
    }
    await session.run(feeds);
    return null;
  } catch (e) {
    return `run: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await session.release();
  }
}

/** otoc's refusal of the model bytes, as loadModel makes it before any command works on a model. */
function otocRefusal(bytes: Uint8Array): OtocError | null {
  try {
    checkModel(decodeModel(bytes));
    return null;
  } catch (e) {
    if (e instanceof OtocError) return e;
    throw e;
  }
}

describe(`${INVALID_CASES.length} hand-built invalid models`, () => {
  it('are more than 100, each with a name of its own', () => {
    expect(INVALID_CASES.length).toBeGreaterThan(100);
    expect(new Set(INVALID_CASES.map((c) => c.name)).size).toBe(INVALID_CASES.length);
  });

  it.each(INVALID_CASES)('$name: onnxruntime refuses it, and so does otoc, naming the problem', async ({ build, expected }) => {
    const model = build();
    const bytes = encodeModel(model).model;
    expect(await onnxruntimeRefusal(model, bytes), 'onnxruntime accepts it').not.toBeNull();
    const refusal = otocRefusal(bytes);
    expect(refusal?.message, 'otoc accepts it').toMatch(expected);
    expect(refusal!.exitCode).toBe(2);
  });
});

describe('valid models pass the same check', () => {
  it('every libonnx-testdata model and every corpus model', () => {
    const files = [...modelsUnder(TESTDATA).map((m) => join(m.dir, 'model.onnx')), ...corpusManifest().map((m) => corpusModel(m.name))];
    const refused = files.flatMap((file) => {
      try {
        checkModel(readModel(file));
        return [];
      } catch (e) {
        return [`${file}: ${(e as Error).message}`];
      }
    });
    expect(refused).toEqual([]);
    expect(files.length).toBeGreaterThan(1000);
  });
});

describe('invalid models onnxruntime does not refuse cleanly (it runs them, or dies)', () => {
  it.each(BEYOND_ONNXRUNTIME)('$name: otoc refuses it', ({ build, expected }) => {
    const refusal = otocRefusal(encodeModel(build()).model);
    expect(refusal?.message, 'otoc accepts it').toMatch(expected);
    expect(refusal!.exitCode).toBe(2);
  });
});

describe('the CLI on invalid models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otoc-invalid-'));
  beforeAll(ensureBuilt);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const picks = ['Conv group 0', 'Transpose perm that repeats an axis', 'one value with dims [2^20, 2^20]', 'opset 0'];

  it.each(picks)('%s: every command exits 2 with one line `otoc: <file>: <problem>`, and prune writes nothing', (name) => {
    const c = INVALID_CASES.find((x) => x.name === name)!;
    const file = join(dir, `${name.replace(/\W+/g, '_')}.onnx`);
    writeFileSync(file, encodeModel(c.build()).model);
    const output = join(dir, 'small.onnx');
    for (const args of [['inspect', file], ['groups', file], ['prune', file, '--random-zero', '0.5', '-o', output]]) {
      const run = otoc(...args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0].startsWith(`otoc: ${file}: `)).toBe(true);
      expect(lines[0]).toMatch(c.expected);
    }
    expect(existsSync(output)).toBe(false);
  });
});
