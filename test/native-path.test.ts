/**
 * The native kernels as a user meets them: `otoc train` says which kernels it runs and trains on
 * either path (OTOC_ONEDNN=0 forces the fallback); native/build.mjs never fails, says in one line
 * what it built and why not more, and records it; the npm package carries what an install needs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { writeModel } from '../src/onnx/write.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { ensureBuilt } from './cli.js';

let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'otoc-native-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `command` with `args` and `env` added to this process's environment. */
function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: PACKAGE_ROOT, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('otoc train on each kernel path', () => {
  it('says which kernels it trains with, and trains the same on both', () => {
    const model = join(dir, 'cnn.onnx');
    writeModel(zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 }), model);
    const args = [join(PACKAGE_ROOT, 'bin/otoc.js'), 'train', model, '--data', 'fashion-mnist', '--limit', '256', '--val-split', '0', '--batch-size', '32', '--epochs', '1', '--backend', 'wasm'];
    const onednn = run(process.execPath, [...args, '-o', join(dir, 'onednn.onnx')]);
    const fallback = run(process.execPath, [...args, '-o', join(dir, 'fallback.onnx')], { OTOC_ONEDNN: '0' });
    for (const r of [onednn, fallback]) {
      expect(r.stderr).not.toMatch(/otoc:/);
      expect(r.status).toBe(0);
    }
    // The kernels line comes with the run's other preamble lines (the training mode's among them).
    const kernelsLine = (stdout: string) => stdout.split('\n').find((line) => line.startsWith('kernels:'));
    expect(kernelsLine(onednn.stdout)).toMatch(/^kernels: oneDNN \d+\.\d+\.\d+ convolutions, \d+ kernel threads?$/);
    expect(kernelsLine(fallback.stdout)).toBe('kernels: fallback kernels, onnxruntime convolutions on one thread per shard (no oneDNN: OTOC_ONEDNN=0)');
    // The same 8 steps from the same start, computed by other kernels: rounding apart, the same loss.
    const loss = (stdout: string) => Number(/train loss (\d+\.\d+)/.exec(stdout)?.[1]);
    expect(Math.abs(loss(onednn.stdout) - loss(fallback.stdout))).toBeLessThan(1e-3);
  });
});

describe('native/build.mjs', () => {
  /** A copy of native/ (sources and build script) to build in, so the real build stays as it is. */
  function nativeCopy(name: string): string {
    const copy = join(dir, name);
    const build = join(PACKAGE_ROOT, 'native', 'build');
    cpSync(join(PACKAGE_ROOT, 'native'), copy, { recursive: true, filter: (source) => source !== build && !source.startsWith(`${build}/`) });
    return copy;
  }

  it('without a compiler builds nothing, exits 0 and says why in one line and in its record', () => {
    const copy = nativeCopy('no-compiler');
    const r = run(process.execPath, [join(copy, 'build.mjs')], { CC: join(dir, 'no-such-cc') });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^otoc: native kernels not built: no C compiler \(.*no-such-cc does not run\); training runs on/)]);
    const record = JSON.parse(readFileSync(join(copy, 'build', 'otoc-build.json'), 'utf8'));
    expect(record).toMatchObject({ addon: false, onednn: false, reason: expect.stringMatching(/no C compiler/) });
  });

  it('with OTOC_ONEDNN=0 builds the addon without oneDNN, and says so', () => {
    const copy = nativeCopy('plain');
    const r = run(process.execPath, [join(copy, 'build.mjs')], { OTOC_ONEDNN: '0' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('otoc: native kernels built without oneDNN (OTOC_ONEDNN=0 when it was built); convolutions run on onnxruntime');
    expect(JSON.parse(readFileSync(join(copy, 'build', 'otoc-build.json'), 'utf8'))).toMatchObject({ addon: true, onednn: false });
    const addon = createRequire(import.meta.url)(join(copy, 'build', 'Release', 'otoc_kernels.node'));
    expect(typeof addon.moments).toBe('function');
    expect(addon.onednn).toBeUndefined();
  });
});

describe('the npm package', () => {
  it('holds the compiled CLI, the native sources and their build script, and runs that script on install', () => {
    const packed = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {});
    expect(packed.status).toBe(0);
    const files: string[] = JSON.parse(packed.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const needed of ['bin/otoc.js', 'dist/src/cli/main.js', 'dist/src/train/shard-worker-main.js', 'dist/models/zoo.js', 'native/build.mjs', 'native/binding.gyp', 'native/src/onednn.cpp', 'schemas/report.schema.json']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((f) => /^(test|bench|dist\/bench|native\/build)\//.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.install).toBe('node native/build.mjs');
  });
});
