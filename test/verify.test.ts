import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../src/ir/graph.js';
import { validateJson } from '../src/io/json-schema.js';
import { ensureBuilt, otoc, writeEditedModel } from './cli.js';
import { corpusModel, corpusTestSet } from './paths.js';

const MODEL = corpusModel('concat_case');
const TEST_SET = corpusTestSet('concat_case');
const workDir = mkdtempSync(join(tmpdir(), 'otoc-verify-'));

const editedModel = (name: string, edit: (model: Model) => void) =>
  writeEditedModel(MODEL, join(workDir, `${name}.onnx`), edit);

/** The model with its classifier bias for class 0 raised by 1e-3: output 0 moves by 1e-3 on every input. */
const perturbed = () =>
  editedModel('perturbed', (m) => {
    const bias = m.graph.initializers.find((v) => v.name === 'fc.bias')!.constant!.data as Float32Array;
    bias[0] += 1e-3;
  });

/** `otoc verify --json`, checked against the schema. */
function verifyJson(...args: string[]) {
  const run = otoc('verify', ...args, '--json');
  const result = JSON.parse(run.stdout);
  validateJson('verify.schema.json', result);
  return { status: run.status, result };
}

beforeAll(ensureBuilt);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('otoc verify', () => {
  it('passes a model against itself on its test data', () => {
    const run = otoc('verify', MODEL, MODEL, '--input', TEST_SET);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^output\s+float32\s+\[1, 10\]\s+0\s+0\s+\S+\s+pass$/m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('equivalent');
  });

  it('passes a model against itself on random inputs', () => {
    const { status, result } = verifyJson(MODEL, MODEL, '--random', '3', '--seed', '1');
    expect(status).toBe(0);
    expect(result).toMatchObject({ equivalent: true, runs: 3, inputs: { kind: 'random', count: 3, seed: 1 } });
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]).toMatchObject({ name: 'output', maxAbsDiff: 0, mismatches: 0, pass: true });
    // The schema is not vacuous: a failed verdict needs its reason, an output its numbers.
    expect(() => validateJson('verify.schema.json', { ...result, equivalent: false })).toThrow(/reason/);
    expect(() => validateJson('verify.schema.json', { ...result, outputs: [{ name: 'output' }] })).toThrow(/maxAbsDiff/);
  });

  it('fails a model with a perturbed weight', () => {
    const run = otoc('verify', MODEL, perturbed(), '--input', TEST_SET);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAIL$/m);
    expect(run.stdout).toMatch(/^not equivalent: output 'output' \(input set #0\): 1 of 10 elements differ by more than/m);
  });

  it('moves the verdict with --atol and --rtol', () => {
    const candidate = perturbed();
    const { status, result } = verifyJson(MODEL, candidate, '--input', TEST_SET);
    expect(status).toBe(1);
    const { maxAbsDiff, maxAbsReference } = result.outputs[0];
    expect(maxAbsDiff).toBeCloseTo(1e-3, 6);
    const verdict = (atol: number, rtol: number) =>
      otoc('verify', MODEL, candidate, '--input', TEST_SET, '--atol', String(atol), '--rtol', String(rtol)).status;
    expect(verdict(maxAbsDiff * 1.01, 0)).toBe(0);
    expect(verdict(maxAbsDiff * 0.99, 0)).toBe(1);
    expect(verdict(0, (maxAbsDiff / maxAbsReference) * 1.01)).toBe(0);
    expect(verdict(0, (maxAbsDiff / maxAbsReference) * 0.99)).toBe(1);
  });

  it('calls models with different outputs not equivalent', () => {
    const renamed = editedModel('renamed-output', (m) => m.graph.rename(m.graph.outputs[0], 'logits'));
    const { status, result } = verifyJson(MODEL, renamed, '--random', '1');
    expect(status).toBe(1);
    expect(result.reason).toMatch(/the models give different outputs: .* gives \[output\], .* gives \[logits\]/);
    expect(result.outputs).toEqual([]);
  });

  it('calls models with different input shapes not equivalent', () => {
    const wider = editedModel('wider-input', (m) => {
      const type = m.graph.inputs[0].type!;
      if (type.kind === 'tensor') type.shape![3] = { value: 33 };
    });
    const { status, result } = verifyJson(MODEL, wider, '--random', '1');
    expect(status).toBe(1);
    expect(result.reason).toMatch(/input 'input' is a float32 tensor \[1, 3, 32, 32\] in .* but a float32 tensor \[1, 3, 32, 33\]/);
  });
});
