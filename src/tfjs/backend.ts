import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { OtocError } from '../errors.js';
import { BACKENDS, type BackendName } from './backend-names.js';
import { registerWasmKernels } from './kernels/register.js';

/**
 * Makes `requested` the tfjs backend, or by default the fastest one that starts, and returns
 * its name. A backend asked for by name that cannot start is an OtocError.
 */
export async function initBackend(requested?: BackendName): Promise<BackendName> {
  if (requested !== undefined) {
    const failure = await startBackend(requested);
    if (failure !== null) throw new OtocError(`backend '${requested}' is not available: ${failure}`);
    return requested;
  }
  for (const name of BACKENDS) {
    if ((await startBackend(name)) === null) return name;
  }
  throw new Error('no tfjs backend could start');
}

/** Starts `name` and makes it current; returns why it could not, or null. */
async function startBackend(name: BackendName): Promise<string | null> {
  if (name === 'tensorflow') {
    const failure = await loadTfjsNode();
    if (failure !== null) return failure;
  }
  if (name === 'wasm') prepareWasm();
  return (await tf.setBackend(name)) ? null : `tfjs could not initialize it`;
}

let tfjsNodeFailure: Promise<string | null> | undefined;

/** Imports @tensorflow/tfjs-node once, which registers the `tensorflow` backend; returns why it failed, or null. */
function loadTfjsNode(): Promise<string | null> {
  // A specifier in a variable keeps TypeScript from requiring the optional package's types.
  const specifier = '@tensorflow/tfjs-node';
  tfjsNodeFailure ??= import(specifier).then(
    () => null,
    (e: unknown) =>
      `the optional package ${specifier} did not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); ` +
      `use --backend wasm or cpu`,
  );
  return tfjsNodeFailure;
}

let wasmPrepared = false;

/** Points the wasm backend at its .wasm binaries in node_modules and installs otoc's kernels; once, before it starts. */
function prepareWasm(): void {
  if (wasmPrepared) return;
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  setWasmPaths(`${dirname(entry)}/`);
  registerWasmKernels();
  wasmPrepared = true;
}
