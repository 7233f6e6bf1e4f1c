import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../src/ir/graph.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { PACKAGE_ROOT } from '../src/paths.js';

const CLI_MAIN = join(PACKAGE_ROOT, 'dist/src/cli/main.js');

/**
 * Build the CLI if dist/ is missing (`make test` builds before vitest; this covers a bare
 * `npx vitest run`).
 */
export function ensureBuilt(): void {
  if (!existsSync(CLI_MAIN)) execFileSync('npm', ['run', '--silent', 'build'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `otoc <args>` as a user would, through bin/otoc.js. */
export function otoc(...args: string[]): CliResult {
  const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/otoc.js'), ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `otoc` without blocking the test runner while a long command (a training) runs. */
export function otocAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin/otoc.js'), ...args]);
    const [stdout, stderr] = [[] as Buffer[], [] as Buffer[]];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

/** Write a copy of the model at `source`, changed by `edit` (to make it invalid, say), to `path`. */
export function writeEditedModel(source: string, path: string, edit: (model: Model) => void): string {
  const model = readModel(source);
  edit(model);
  writeModel(model, path);
  return path;
}
