import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../src/paths.js';
import { ensureBuilt } from './cli.js';
import { corpusModel } from './paths.js';

/*
 * The commands that do not train start without tfjs: each runs as a user runs it, in a node
 * whose module loader writes down every module under @tensorflow/ it is asked for, and by whom.
 */

const TRACE = join(PACKAGE_ROOT, 'test/fixtures/tfjs-trace.mjs');
const MODEL = corpusModel('fmnist_resnet');
let dir: string;
let runs = 0;

interface TracedRun {
  status: number | null;
  stderr: string;
  /** One line per @tensorflow module imported: who imports what. */
  tfjs: string[];
}

/** Runs `node --import tfjs-trace.mjs <args>` in the package root. */
function traced(...args: string[]): TracedRun {
  const trace = join(dir, `trace-${runs++}.txt`);
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(TRACE).href, ...args], {
    cwd: PACKAGE_ROOT,
    encoding: 'utf8',
    env: { ...process.env, OTOC_TFJS_TRACE: trace },
  });
  const tfjs = existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n') : [];
  return { status: run.status, stderr: run.stderr, tfjs };
}

const otocTraced = (...args: string[]) => traced('bin/otoc.js', ...args);

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'otoc-startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('commands that do not train never load tfjs', () => {
  it('the trace sees tfjs where it is loaded: the training mirror', () => {
    const mirror = pathToFileURL(join(PACKAGE_ROOT, 'dist/src/mirror/mirror.js')).href;
    const run = traced('--input-type=module', '-e', `await import(${JSON.stringify(mirror)});`);
    expect(run.status, run.stderr).toBe(0);
    expect(run.tfjs.some((line) => line.includes('/dist/src/mirror/') && line.includes('/@tensorflow/tfjs/'))).toBe(true);
  });

  const commands: [string, () => string[]][] = [
    ['otoc inspect', () => ['inspect', MODEL]],
    ['otoc groups', () => ['groups', MODEL, '--json']],
    ['otoc prune', () => ['prune', MODEL, '-o', join(dir, 'pruned.onnx')]],
    ['otoc verify', () => ['verify', MODEL, MODEL, '--random', '1']],
    ['otoc model.onnx -o small.onnx (no --data)', () => [MODEL, '-o', join(dir, 'small.onnx')]],
    ['otoc --help', () => ['--help']],
  ];
  for (const [name, args] of commands) {
    it(name, () => {
      const run = otocTraced(...args());
      expect(run.status, run.stderr).toBe(0);
      expect(run.tfjs).toEqual([]);
    });
  }
});
