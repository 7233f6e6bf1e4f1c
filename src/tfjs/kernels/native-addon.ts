import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';

/**
 * otoc's native CPU kernels (native/, a Node-API addon that `make build` or the package's install
 * script compiles with node-gyp, native/build.mjs): batch normalization over channels-last
 * float32 data, `channels` values per row, the ReLU gradient and the max-pool gradient; and, when oneDNN was found at
 * build time, oneDNN's convolutions. Arrays are read and written in place; the per-channel ones
 * hold `channels` values.
 */
export interface NativeKernels {
  /** Mean and biased variance per channel. */
  moments(x: Float32Array, channels: number, mean: Float32Array, variance: Float32Array): void;
  /** y = (x − mean) · gamma / √(variance + eps) + beta. */
  apply(x: Float32Array, channels: number, mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, y: Float32Array): void;
  /** dx, dGamma and dBeta of `apply` with the batch's own statistics. */
  gradient(
    dy: Float32Array,
    x: Float32Array,
    channels: number,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array,
    eps: number,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
  ): void;
  /** dx = dy where the ReLU's output y is positive, else 0. */
  reluGradient(dy: Float32Array, y: Float32Array, dx: Float32Array): void;
  /** The gradient of an NHWC max pool (max-pool-gradient.ts); `window` holds native/src/window.h's fields in order (kernel-inputs.ts, windowParams). */
  maxPoolGradient(x: Float32Array, dy: Float32Array, dx: Float32Array, window: Float64Array): void;
  /** Present when the addon was built with oneDNN. */
  onednn?: OneDnn;
}

/** What a oneDNN convolution computes: native/src/onednn.h's OnednnConvKind. */
export enum ConvKind {
  /** conv(x, filter, y) */
  Forward = 0,
  /** conv(dy, filter, dx) */
  BackwardData = 1,
  /** conv(x, dy, dFilter) */
  BackwardWeights = 2,
}

/** oneDNN's convolutions on NHWC activations and tfjs's filter layouts (native/src/onednn.h). */
export interface OneDnn {
  /** The library's version, e.g. "2.6.3". */
  version: string;
  /**
   * Runs `kind` on the calling thread's oneDNN threads. `window` holds native/src/window.h's
   * fields in order (kernel-inputs.ts, windowParams); a, b and out are as `kind` says.
   */
  conv(kind: ConvKind, window: Float64Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** Threads of the calling thread's later kernels (OpenMP's, per calling thread). */
  setThreads(threads: number): void;
  threads(): number;
}

const NATIVE_DIR = join(PACKAGE_ROOT, 'native', 'build');
const NATIVE_ADDON_PATH = join(NATIVE_DIR, 'Release', 'otoc_kernels.node');
/** What native/build.mjs last did: { onednn: boolean, reason?: string }. */
const BUILD_RECORD = join(NATIVE_DIR, 'otoc-build.json');

/** Set to 0, this environment variable makes otoc run its fallback kernels even where oneDNN is built. */
export const ONEDNN_VARIABLE = 'OTOC_ONEDNN';

let addon: NativeKernels | null | undefined;

/**
 * The addon, or null when it was not built (otoc then computes these with tfjs ops). Its OpenMP
 * threads sleep between kernels unless OMP_WAIT_POLICY says otherwise: spinning (libgomp's
 * default) made a ResNet step several times slower on a machine busy with other work, where the
 * spinning thread holds a core the other one waits for.
 */
export function nativeKernels(): NativeKernels | null {
  if (addon === undefined) {
    // Read once, when libgomp loads with the addon.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    try {
      addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeKernels;
    } catch {
      addon = null;
    }
  }
  return addon;
}

/**
 * Which convolution kernels the wasm backend runs: oneDNN's in the native addon, or the fallback
 * (onnxruntime's MLAS for plain convolutions, tfjs-wasm's for depthwise ones), with the reason.
 */
export type KernelPath = { kind: 'onednn'; onednn: OneDnn; native: NativeKernels } | { kind: 'fallback'; reason: string };

/** The path this process takes: oneDNN when the addon has it, unless OTOC_ONEDNN=0. */
export function kernelPath(): KernelPath {
  const native = nativeKernels();
  if (process.env[ONEDNN_VARIABLE] === '0') return { kind: 'fallback', reason: `${ONEDNN_VARIABLE}=0` };
  if (native?.onednn) return { kind: 'onednn', onednn: native.onednn, native };
  const build = `node ${join(PACKAGE_ROOT, 'native', 'build.mjs')} builds it`;
  return { kind: 'fallback', reason: buildReason() ?? (native ? `the native addon was built without oneDNN; ${build}` : `the native addon is not built; ${build}`) };
}

/** Why native/build.mjs built no oneDNN kernels, as it recorded; undefined when it did not say. */
function buildReason(): string | undefined {
  if (!existsSync(BUILD_RECORD)) return undefined;
  try {
    const record = JSON.parse(readFileSync(BUILD_RECORD, 'utf8')) as { reason?: unknown };
    return typeof record.reason === 'string' ? record.reason : undefined;
  } catch {
    return undefined;
  }
}

/** Kernel threads of each of `shards` threads computing at once on `path`: one on the fallback path, as its kernels always ran. */
export function kernelThreads(shards: number, path = kernelPath(), cores = coreCount()): number {
  return path.kind === 'onednn' ? Math.max(1, Math.floor(cores / shards)) : 1;
}

/** One line for the user: the kernels this process trains with, `shards` threads computing at once. */
export function describeKernelPath(shards: number, path = kernelPath()): string {
  if (path.kind === 'fallback') return `fallback kernels, onnxruntime convolutions on one thread per shard (no oneDNN: ${path.reason})`;
  const threads = kernelThreads(shards, path);
  const each = `${threads} kernel thread${threads > 1 ? 's' : ''}`;
  return `oneDNN ${path.onednn.version} convolutions, ${shards > 1 ? `${shards} shards × ${each}` : each}`;
}

/** Cores this process may use: OMP_NUM_THREADS where set, else all. */
export function coreCount(): number {
  const limit = Number(process.env.OMP_NUM_THREADS);
  return Number.isInteger(limit) && limit >= 1 ? limit : availableParallelism();
}

/**
 * Sets the calling thread's kernel threads for `shards` threads computing at once (shards ×
 * kernel threads never exceed the cores), and returns them.
 */
export function setKernelThreads(shards: number): number {
  const threads = kernelThreads(shards);
  nativeKernels()?.onednn?.setThreads(threads);
  return threads;
}
