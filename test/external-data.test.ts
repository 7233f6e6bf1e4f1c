/**
 * External data as an untrusted file refers to it: confined to the model's real folder, regular
 * files only, read by offset and length, never written over by an output (issue 26, items 1-4
 * and 14).
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingLog } from '../src/cli/training-log.js';
import { OtocError } from '../src/errors.js';
import { diffModels } from '../src/ir/compare.js';
import type { Model } from '../src/ir/graph.js';
import { elementCount } from '../src/ir/tensor.js';
import { readModel } from '../src/onnx/read.js';
import { ModelProto } from '../src/onnx/schema.js';
import { encodeModel, writeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc } from './cli.js';
import { corpusModel } from './paths.js';

const SOURCE = corpusModel('concat_case');
const workDir = mkdtempSync(join(tmpdir(), 'otoc-external-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A fresh empty folder for one test's files. */
function freshDir(name: string): string {
  return mkdtempSync(join(workDir, `${name}-`));
}

/** The source model with its initializers of 64 elements or more stored externally, in `location`. */
function externalModel(location: string): Model {
  const model = readModel(SOURCE);
  for (const v of model.graph.initializers) {
    if (elementCount(v.constant!.dims) >= 64) v.constant!.storage = { kind: 'external', location, props: [] };
  }
  return model;
}

/**
 * Write `model` to `path` with its external data in the files its tensors name, as another tool
 * would (otoc's writer names the data file after the model), and return the data's bytes.
 */
function writeAsOthersDo(model: Model, path: string): Map<string, Buffer> {
  const { model: bytes, external } = encodeModel(model);
  writeFileSync(path, bytes);
  const data = new Map<string, Buffer>();
  for (const [location, chunks] of external) {
    const file = join(dirname(path), location);
    mkdirSync(dirname(file), { recursive: true });
    data.set(location, Buffer.concat(chunks));
    writeFileSync(file, data.get(location)!);
  }
  return data;
}

/** Write the model file only, with external data in `location`, whose bytes the test puts there itself. */
function modelReferring(dir: string, location: string): string {
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(externalModel(location)).model);
  return path;
}

/** Rewrites every external_data entry `key` of the model file's initializers with `edit`. */
function editExternalEntries(path: string, key: string, edit: (value: string | undefined) => string): void {
  type Entry = { key: string; value: string };
  const msg = ModelProto.decode(readFileSync(path)) as unknown as { graph: { initializer: { external_data?: Entry[] }[] } };
  for (const t of msg.graph.initializer) {
    if (!t.external_data?.length) continue;
    const entry = t.external_data.find((e) => e.key === key);
    if (entry) entry.value = edit(entry.value);
    else t.external_data.push({ key, value: edit(undefined) });
  }
  writeFileSync(path, ModelProto.encode(msg).finish());
}

function refusal(path: string): string {
  try {
    readModel(path);
  } catch (e) {
    expect(e).toBeInstanceOf(OtocError);
    return (e as OtocError).message;
  }
  throw new Error(`${path} was read`);
}

describe('reading external data is confined to the model’s real folder', () => {
  const outside = join(workDir, 'outside');
  let secretSize: number;
  beforeAll(() => {
    mkdirSync(outside);
    const data = writeAsOthersDo(externalModel('w.bin'), join(outside, 'model.onnx'));
    secretSize = data.get('w.bin')!.byteLength;
  });

  it('refuses a symlink to a file outside, without saying anything about that file', () => {
    const dir = freshDir('link-file');
    symlinkSync(join(outside, 'w.bin'), join(dir, 'w.bin'));
    const message = refusal(modelReferring(dir, 'w.bin'));
    expect(message).toBe(`external data location 'w.bin' leads outside the model's folder through a symbolic link`);
    expect(message).not.toContain(String(secretSize));
  });

  it('refuses a location through a symlinked folder that leads outside', () => {
    const dir = freshDir('link-folder');
    symlinkSync(outside, join(dir, 'sub'));
    expect(refusal(modelReferring(dir, 'sub/w.bin'))).toMatch(/'sub\/w.bin' leads outside the model's folder through a symbolic link/);
  });

  it.each(['/proc/self/environ', '/dev/zero', '/etc/passwd'])('refuses a symlink to %s', (target) => {
    const dir = freshDir('link-system');
    symlinkSync(target, join(dir, 'w.bin'));
    expect(refusal(modelReferring(dir, 'w.bin'))).toMatch(/leads outside the model's folder/);
  });

  it.each(['../outside/w.bin', join(outside, 'w.bin'), 'sub/../../outside/w.bin'])('refuses the location %s', (location) => {
    const dir = freshDir('path');
    expect(refusal(modelReferring(dir, location))).toMatch(/points outside the model's folder/);
  });

  it('reads through a symlink that stays inside the folder', () => {
    const dir = freshDir('link-inside');
    writeAsOthersDo(externalModel('real.bin'), join(dir, 'real.onnx'));
    symlinkSync('real.bin', join(dir, 'w.bin'));
    const back = readModel(modelReferring(dir, 'w.bin'));
    expect(diffModels(back, readModel(join(dir, 'real.onnx')))).toBeNull();
  });

  it('refuses a FIFO at once instead of waiting for a writer, and a folder', () => {
    const fifoDir = freshDir('fifo');
    execFileSync('mkfifo', [join(fifoDir, 'w.bin')]);
    expect(refusal(modelReferring(fifoDir, 'w.bin'))).toBe(`external data 'w.bin' is not a regular file (it is a FIFO)`);
    const folderDir = freshDir('folder');
    mkdirSync(join(folderDir, 'w.bin'));
    expect(refusal(modelReferring(folderDir, 'w.bin'))).toBe(`external data 'w.bin' is not a regular file (it is a directory)`);
  });

  it('reports an error resolving the location as what it is, not as a missing file', () => {
    const dir = freshDir('loop');
    symlinkSync('b.bin', join(dir, 'a.bin'));
    symlinkSync('a.bin', join(dir, 'b.bin'));
    expect(refusal(modelReferring(dir, 'a.bin'))).toBe(`cannot resolve external data location 'a.bin' (ELOOP)`);
    expect(refusal(modelReferring(freshDir('missing'), 'w.bin'))).toBe(`external data file 'w.bin' is missing`);
  });

  it('refuses a location holding a NUL byte, and prints it escaped on one line', () => {
    const dir = freshDir('nul');
    writeAsOthersDo(externalModel('w.bin'), join(dir, 'model.onnx'));
    editExternalEntries(join(dir, 'model.onnx'), 'location', () => 'w.bin\0\x1b[2J');
    expect(refusal(join(dir, 'model.onnx'))).toMatch(/contains a NUL byte/);
    const run = otoc('inspect', join(dir, 'model.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      `otoc: ${join(dir, 'model.onnx')}: external data location 'w.bin\\x00\\x1b[2J' contains a NUL byte\n`,
    );
  });
});

describe('external data offsets and lengths', () => {
  it.each([
    ['offset', '0x10'],
    ['offset', '1.5'],
    ['offset', '-16'],
    ['offset', '+16'],
    ['offset', ' 16'],
    ['offset', '1e3'],
    ['offset', ''],
    ['length', '0x10'],
    ['length', '99999999999999999999'],
  ])('refuses %s "%s": decimal digits only, as onnxruntime reads them', (key, text) => {
    const dir = freshDir('numbers');
    writeAsOthersDo(externalModel('w.bin'), join(dir, 'model.onnx'));
    editExternalEntries(join(dir, 'model.onnx'), key, () => text);
    expect(refusal(join(dir, 'model.onnx'))).toMatch(
      new RegExp(`has external data ${key} '${text.replace(/[.+]/g, '\\$&')}', which is not a whole number of bytes in decimal digits`),
    );
  });

  it('refuses a length that is not what the dims need, before reading it', () => {
    const dir = freshDir('length');
    writeAsOthersDo(externalModel('w.bin'), join(dir, 'model.onnx'));
    editExternalEntries(join(dir, 'model.onnx'), 'length', (v) => String(Number(v) - 4));
    expect(refusal(join(dir, 'model.onnx'))).toMatch(/external data 'w.bin' holds \d+ bytes at offset \d+, but the tensor's dims need \d+/);
  });
});

describe('writing never replaces external data that a model reads', () => {
  it('prune -o beside the input keeps the input’s weights.bin, and both models run', () => {
    const dir = freshDir('beside');
    const data = writeAsOthersDo(externalModel('weights.bin'), join(dir, 'model.onnx'));
    const run = otoc('prune', join(dir, 'model.onnx'), '--random-zero', '0.5', '--emit-full', join(dir, 'full.onnx'), '-o', join(dir, 'small.onnx'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(join(dir, 'weights.bin')).equals(data.get('weights.bin')!)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['full.onnx', 'full.onnx.data', 'model.onnx', 'small.onnx', 'small.onnx.data', 'weights.bin']);
    const verify = otoc('verify', join(dir, 'full.onnx'), join(dir, 'small.onnx'), '--random', '2');
    expect(verify.stdout).toMatch(/^equivalent/m);
    expect(verify.status).toBe(0);
  });

  it('refuses any output naming the input’s data file, and --emit-full naming the same file as -o', () => {
    const dir = freshDir('refuse');
    const data = writeAsOthersDo(externalModel('weights.bin'), join(dir, 'model.onnx'));
    for (const args of [['prune', '-o'], ['groups', '--dot']]) {
      const overData = otoc(args[0], join(dir, 'model.onnx'), args[1], join(dir, 'weights.bin'));
      expect(overData.status).toBe(2);
      expect(overData.stderr).toBe(
        `otoc: ${join(dir, 'weights.bin')}: holds the external data of another model (an input, or an output of this run); otoc does not overwrite it\n`,
      );
    }
    expect(readFileSync(join(dir, 'weights.bin')).equals(data.get('weights.bin')!)).toBe(true);
    const same = otoc('prune', join(dir, 'model.onnx'), '--emit-full', join(dir, 'x.onnx'), '-o', join(dir, 'x.onnx'));
    expect(same.status).toBe(2);
    expect(same.stderr).toMatch(/--emit-full and -o name the same file/);
  });

  it('the training log refuses to start over the input’s data file', () => {
    const dir = freshDir('log');
    const data = writeAsOthersDo(externalModel('weights.bin'), join(dir, 'model.onnx'));
    readModel(join(dir, 'model.onnx'));
    const start = { resumed: false, step: 0, settings: {} } as unknown as ConstructorParameters<typeof TrainingLog>[2];
    expect(() => new TrainingLog(join(dir, 'weights.bin'), 10, start)).toThrow(/holds the external data of another model/);
    expect(readFileSync(join(dir, 'weights.bin')).equals(data.get('weights.bin')!)).toBe(true);
  });

  it('gives the output’s data file another name when an input reads the usual one', () => {
    const dir = freshDir('taken');
    const data = writeAsOthersDo(externalModel('small.onnx.data'), join(dir, 'a.onnx'));
    const model = readModel(join(dir, 'a.onnx'));
    writeModel(model, join(dir, 'small.onnx'));
    expect(readFileSync(join(dir, 'small.onnx.data')).equals(data.get('small.onnx.data')!)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['a.onnx', 'small.onnx', 'small.onnx.1.data', 'small.onnx.data']);
    expect(diffModels(readModel(join(dir, 'small.onnx')), model)).toBeNull();
    expect(diffModels(readModel(join(dir, 'a.onnx')), model)).toBeNull();
  });

  it('rewriting a model in place leaves its old data file until the new model replaces it', () => {
    const dir = freshDir('in-place');
    const path = join(dir, 'model.onnx');
    writeModel(externalModel('w.bin'), path);
    const first = readFileSync(join(dir, 'model.onnx.data'));
    writeModel(readModel(path), path);
    expect(readFileSync(join(dir, 'model.onnx.data')).equals(first)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.1.data', 'model.onnx.data']);
    expect(diffModels(readModel(path), externalModel('w.bin'))).toBeNull();
  });

  it('writes a model read from a subfolder location into another folder, and never through a symlinked subfolder', () => {
    const [source, out, elsewhere] = [freshDir('sub-source'), freshDir('sub-out'), freshDir('sub-elsewhere')];
    writeAsOthersDo(externalModel('sub/w.bin'), join(source, 'model.onnx'));
    symlinkSync(elsewhere, join(out, 'sub'));
    const model = readModel(join(source, 'model.onnx'));
    writeModel(model, join(out, 'model.onnx'));
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['model.onnx', 'model.onnx.data', 'sub']);
    expect(diffModels(readModel(join(out, 'model.onnx')), model)).toBeNull();
  });

  it('names -o, not the data file, when the output folder does not exist', () => {
    const target = join(freshDir('no-folder'), 'missing', 'small.onnx');
    expect(() => writeModel(externalModel('w.bin'), target)).toThrow(
      expect.objectContaining({ file: target, message: expect.stringMatching(/folder does not exist.*small\.onnx\.data/) }),
    );
  });
});

describe('a single external data file over 2 GiB', () => {
  /** Where the tensors start in big.bin: past 2^31, so every offset needs more than 31 bits. */
  const BASE = 2 ** 31 + 2 ** 28;

  it('is read by offset and length; prune --emit-full and -o in one folder keep each other’s data', () => {
    const dir = freshDir('big');
    const { model: bytes, external } = encodeModel(externalModel('big.bin'));
    const data = Buffer.concat(external.get('big.bin')!);
    // A sparse file: only the tensors' bytes at its end take disk space.
    const fd = openSync(join(dir, 'big.bin'), 'w');
    ftruncateSync(fd, BASE + data.byteLength);
    writeSync(fd, data, 0, data.byteLength, BASE);
    closeSync(fd);
    writeFileSync(join(dir, 'big.onnx'), bytes);
    editExternalEntries(join(dir, 'big.onnx'), 'offset', (v) => String(BASE + Number(v ?? 0)));
    expect(statSync(join(dir, 'big.bin')).size).toBeGreaterThan(2 ** 31);

    expect(diffModels(readModel(join(dir, 'big.onnx')), externalModel('big.bin'))).toBeNull();
    mkdirSync(join(dir, 'out'));
    const [full, small] = [join(dir, 'out', 'full.onnx'), join(dir, 'out', 'small.onnx')];
    const run = otoc('prune', join(dir, 'big.onnx'), '--random-zero', '0.5', '--emit-full', full, '-o', small);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['full.onnx', 'full.onnx.data', 'small.onnx', 'small.onnx.data']);
    const verify = otoc('verify', full, small, '--random', '2');
    expect(verify.stdout).toMatch(/^equivalent/m);
    expect(verify.status).toBe(0);
    // The full model is the input with half its groups zeroed: same shapes, so the same bytes of data.
    expect(statSync(join(dir, 'out', 'full.onnx.data')).size).toBe(data.byteLength);
    expect(statSync(join(dir, 'out', 'small.onnx.data')).size).toBeLessThan(data.byteLength);
    // Disk use of the sparse file: its blocks, not its length.
    expect(statSync(join(dir, 'big.bin')).blocks * 512).toBeLessThan(16 * 2 ** 20);
  });
});
