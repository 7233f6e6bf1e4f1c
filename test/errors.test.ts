import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtocError, escapeControl } from '../src/errors.js';
import type { Model } from '../src/ir/graph.js';
import { writeFilesAtomically } from '../src/io/atomic.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc, writeEditedModel } from './cli.js';
import { corpusModel } from './paths.js';

const GOOD = corpusModel('concat_case');
const workDir = mkdtempSync(join(tmpdir(), 'otoc-errors-'));

const editedModel = (name: string, edit: (model: Model) => void) =>
  writeEditedModel(GOOD, join(workDir, `${name}.onnx`), edit);

const nodes = (model: Model) => model.graph.nodes;

/** Each bad input, and words its one-line error must contain. */
const CASES: [name: string, makeFile: () => string, expected: RegExp][] = [
  ['a missing file', () => join(workDir, 'no-such-model.onnx'), /file not found/],
  [
    'a text file',
    () => {
      const path = join(workDir, 'notes.onnx');
      writeFileSync(path, 'this is a text file, not a model\n');
      return path;
    },
    /not an ONNX model: it is a text file/,
  ],
  [
    'a truncated file',
    () => {
      const bytes = readFileSync(GOOD);
      const path = join(workDir, 'truncated.onnx');
      writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
      return path;
    },
    /truncated/,
  ],
  [
    'a dangling node input',
    () => editedModel('dangling', (m) => nodes(m)[1].setInput(0, m.graph.ensureValue('ghost'))),
    /node Relu '\/stem\/stem.2\/Relu' reads 'ghost', which nothing defines/,
  ],
  [
    'a cycle',
    () => editedModel('cycle', (m) => nodes(m)[0].setInput(0, nodes(m)[1].outputs[0])),
    /cycle through node/,
  ],
  [
    'a duplicate output name',
    () =>
      editedModel('duplicate', (m) => {
        // Two independent branches: the b2 Relu now writes the b1 Relu's output name too.
        nodes(m)[7].outputs[0]!.name = nodes(m)[3].outputs[0]!.name;
      }),
    /'\/b1\/b1.0\/b1.0.2\/Relu_output_0' is defined twice/,
  ],
  [
    'an unsupported IR version',
    () => editedModel('ir12', (m) => (m.irVersion = 12)),
    /IR version 12 is not supported \(otoc reads IR 3 to 11\)/,
  ],
  [
    'an unsupported opset',
    () => editedModel('opset27', (m) => (m.opsetImports = [{ domain: '', version: 27 }])),
    /opset 27 of domain 'ai.onnx' is not supported/,
  ],
];

beforeAll(ensureBuilt);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('bad input: one line naming the file and the problem, exit code 2', () => {
  it.each(CASES)('%s', (_, makeFile, expected) => {
    const file = makeFile();
    const run = otoc('verify', file, GOOD, '--random', '1');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`otoc: ${file}: `)).toBe(true);
    expect(lines[0]).toMatch(expected);

    const debug = otoc('verify', file, GOOD, '--random', '1', '--debug');
    expect(debug.status).toBe(2);
    expect(debug.stderr.split('\n')[0]).toBe(lines[0]);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('names the second model when it is the bad one', () => {
    const run = otoc('verify', GOOD, join(workDir, 'absent.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr.trimEnd()).toBe(`otoc: ${join(workDir, 'absent.onnx')}: file not found`);
  });

  it.each([
    [['--atol', '-1'], /--atol must be a number ≥ 0/],
    [['--random', '0'], /--random must be a positive integer/],
    [['--shape', 'input'], /--shape expects name=/],
    [['--shape', 'nope=1x3'], /--shape names 'nope', which is not a model input/],
    [['--shape', 'input=1x3x8'], /does not fit the declared shape/],
    [['--input', workDir, '--random', '2'], /mutually exclusive/],
    [['--input', join(workDir, 'no-such-dir')], /test data folder not found/],
  ])('refuses bad options %j', (options, expected) => {
    const run = otoc('verify', GOOD, GOOD, ...options);
    expect(run.status).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(expected);
  });

  it.each([
    [['--target-sparsity', '1.2'], /--target-sparsity must be between 0 and 0.999, got 1.2/],
    [['--deadline', '1.5'], /--deadline must be between 0 and 1, got 1.5/],
    [['--group-divisible', '0'], /--group-divisible must be a positive integer/],
  ])('compress refuses bad options %j before training', (options, expected) => {
    const out = join(workDir, 'never-written.onnx');
    const run = otoc('compress', GOOD, '--data', 'fashion-mnist', '-o', out, ...options);
    expect(run.status).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(expected);
    expect(readdirSync(workDir)).not.toContain('never-written.onnx');
  });
});

describe('escapeControl', () => {
  it.each([
    ['w.bin\0', 'w.bin\\x00'],
    ['a\nb\r\tc', 'a\\x0ab\\x0d\\x09c'],
    ['\x1b[31mred\x7f', '\\x1b[31mred\\x7f'],
    ['c1 \x85 \x9b', 'c1 \\x85 \\x9b'],
    ['bidi \u202e txt \u2066 line \u2028', 'bidi \\u202e txt \\u2066 line \\u2028'],
    ['plain ünïcödé C:\\dir /x', 'plain ünïcödé C:\\dir /x'],
  ])('escapes %j as %j', (text, escaped) => {
    expect(escapeControl(text)).toBe(escaped);
  });
});

describe('atomic writes', () => {
  const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

  it('leaves no file behind when the target folder is missing', () => {
    const dir = mkdtempSync(join(workDir, 'atomic-'));
    const target = join(dir, 'missing-folder', 'model.onnx');
    expect(() => writeModel(readModel(GOOD), target)).toThrow(OtocError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes none of several files when one fails, and keeps the old contents', () => {
    const dir = mkdtempSync(join(workDir, 'atomic-'));
    const first = join(dir, 'model.onnx');
    writeFileSync(first, 'old contents');
    const failing = join(dir, 'missing-folder', 'weights.bin');
    expect(() => writeFilesAtomically([[first, [Buffer.from('new')]], [failing, [Buffer.from('data')]]])).toThrow(
      /cannot write output/,
    );
    expect(readFileSync(first, 'utf8')).toBe('old contents');
    expect(leftovers(dir)).toEqual([]);
  });

  it('removes its temporary file when the final rename fails', () => {
    const dir = mkdtempSync(join(workDir, 'atomic-'));
    const target = join(dir, 'model.onnx');
    mkdirSync(target);
    expect(() => writeFilesAtomically([[target, [Buffer.from('data')]]])).toThrow(OtocError);
    expect(leftovers(dir)).toEqual([]);
    expect(readdirSync(target)).toEqual([]);
  });
});
