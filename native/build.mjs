#!/usr/bin/env node
/*
 * Builds otoc's native kernels (this folder: a Node-API addon) with node-gyp, and never fails:
 * with oneDNN where its headers are found, else without it, else not at all. It prints one line
 * that says what it built and, when less than all, why; it records the same in
 * build/otoc-build.json, from which otoc says why it runs its fallback kernels. `make build`
 * and the package's install script (npm install) run it.
 *
 *   node native/build.mjs        (OTOC_ONEDNN=0 builds without oneDNN)
 *
 * Plain JavaScript: it runs at install time, before (or without) the TypeScript build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILD = join(HERE, 'build');
const ADDON = join(BUILD, 'Release', 'otoc_kernels.node');
const RECORD = join(BUILD, 'otoc-build.json');
const DNNL_HEADER = join('oneapi', 'dnnl', 'dnnl.hpp');
const INSTALL_HINT = 'on Debian or Ubuntu: apt-get install libdnnl-dev';

/** node-gyp: the one npm runs scripts with, else the one bundled with the npm beside this node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    resolve(process.execPath, '..', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((path) => path && existsSync(path));
}

/** The first line of a failed command's output that says what went wrong. */
function firstError(output) {
  const lines = output.split('\n').map((l) => l.trim());
  return (lines.find((l) => /\berror\b/i.test(l) && !/^gyp ERR!/.test(l)) ?? lines.find((l) => l) ?? 'no output').slice(0, 200);
}

/** Whether `command` runs (a compiler or make that answers --version). */
function runs(command) {
  return spawnSync(command, ['--version'], { stdio: 'ignore', shell: false }).error === undefined;
}

/** Why no addon can be built here, or undefined when the tools are there. */
function missingTools(gyp) {
  if (!gyp) return "node-gyp was not found (it comes with npm)";
  if (process.platform === 'win32') return undefined;
  for (const [variable, fallback, what] of [['CC', 'cc', 'C compiler'], ['CXX', 'c++', 'C++ compiler'], ['MAKE', 'make', 'make']]) {
    const command = process.env[variable] || fallback;
    if (!runs(command)) return `no ${what} (${command} does not run)`;
  }
  return undefined;
}

/** Why oneDNN is not built in, or undefined when its headers are there. */
function missingOneDnn() {
  if (process.env.OTOC_ONEDNN === '0') return 'OTOC_ONEDNN=0 when it was built';
  const dirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include'];
  for (const variable of ['CPATH', 'CPLUS_INCLUDE_PATH']) dirs.push(...(process.env[variable] ?? '').split(delimiter).filter(Boolean));
  if (dirs.some((dir) => existsSync(join(dir, DNNL_HEADER)))) return undefined;
  return `oneDNN was not found (no ${DNNL_HEADER}; ${INSTALL_HINT})`;
}

/** node-gyp rebuild with or without oneDNN; the error when it failed, or when the addon does not load. */
function build(gyp, onednn) {
  const args = [gyp, 'rebuild', '--loglevel=error', '--directory', HERE];
  // The headers of the node that runs this, where it has them; otherwise node-gyp fetches them.
  const prefix = resolve(process.execPath, '..', '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  args.push('--', `-Donednn=${onednn}`);
  const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (run.status !== 0) return firstError(`${run.stderr ?? ''}\n${run.stdout ?? ''}`);
  try {
    const addon = createRequire(import.meta.url)(ADDON);
    if (onednn && !addon.onednn) return 'the addon has no oneDNN kernels';
    return undefined;
  } catch (e) {
    return `the addon does not load: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`;
  }
}

function finish(record, line) {
  mkdirSync(BUILD, { recursive: true });
  writeFileSync(RECORD, `${JSON.stringify({ ...record, node: process.version, date: new Date().toISOString() }, null, 2)}\n`);
  console.log(`otoc: ${line}`);
}

const gyp = nodeGyp();
const noTools = missingTools(gyp);
if (noTools) {
  // An addon left by an earlier build would contradict the record.
  rmSync(dirname(ADDON), { recursive: true, force: true });
  finish({ addon: false, onednn: false, reason: `the native addon is not built: ${noTools}` }, `native kernels not built: ${noTools}; training runs on tfjs and onnxruntime kernels alone`);
} else {
  let reason = missingOneDnn();
  const failed = reason === undefined ? build(gyp, true) : undefined;
  if (failed) reason = `the oneDNN build failed: ${failed}`;
  if (reason === undefined) {
    finish({ addon: true, onednn: true }, `native kernels built with oneDNN ${createRequire(import.meta.url)(ADDON).onednn.version}`);
  } else {
    const plain = build(gyp, false);
    if (plain) finish({ addon: false, onednn: false, reason: `the native addon is not built: ${plain}` }, `native kernels not built (${plain}); training runs on tfjs and onnxruntime kernels alone`);
    else finish({ addon: true, onednn: false, reason }, `native kernels built without oneDNN (${reason}); convolutions run on onnxruntime`);
  }
}
