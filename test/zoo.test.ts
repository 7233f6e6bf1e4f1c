/** `otoc zoo`: the built-in architectures load in onnxruntime and verify against themselves. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZOO } from '../models/zoo.js';
import { readModel } from '../src/onnx/read.js';
import { findProblems } from '../src/ir/validate.js';
import { createSession } from '../src/runtime/ort.js';
import { ensureBuilt, otoc } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'otoc-zoo-'));
beforeAll(ensureBuilt);

it('zoo list names every architecture', () => {
  const run = otoc('zoo', 'list');
  expect(run.status).toBe(0);
  for (const e of ZOO) expect(run.stdout).toContain(e.name);
});

describe.each(ZOO.map((e) => e.name))('zoo %s', (name) => {
  it('emits a valid model that onnxruntime runs and that verifies against itself', async () => {
    const path = join(dir, `${name}.onnx`);
    const run = otoc('zoo', name, '--input', '3x32x32', '--classes', '7', '-o', path);
    expect(run.status).toBe(0);
    const model = readModel(path);
    expect(findProblems(model)).toEqual([]);
    const session = await createSession(path);
    expect(session.outputNames).toEqual(['output']);
    const verify = otoc('verify', path, path, '--random', '2', '--shape', 'input=5x3x32x32');
    expect(verify.status).toBe(0);
  });
});

it('zoo rejects an unknown architecture and a bad input shape with one line', () => {
  const unknown = otoc('zoo', 'alexnet', '-o', join(dir, 'x.onnx'));
  expect(unknown.status).toBe(2);
  expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  const bad = otoc('zoo', 'vgg', '--input', '28x28', '-o', join(dir, 'x.onnx'));
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/CxHxW/);
});
