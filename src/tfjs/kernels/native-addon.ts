import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';

/**
 * otoc's native CPU kernels (native/, a Node-API addon that `make build` compiles with node-gyp):
 * batch normalization over channels-last float32 data, `channels` values per row, and the ReLU
 * gradient. Arrays are read and written in place; the per-channel ones hold `channels` values.
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
}

const NATIVE_ADDON_PATH = join(PACKAGE_ROOT, 'native', 'build', 'Release', 'otoc_kernels.node');

let addon: NativeKernels | null | undefined;

/** The addon, or null when it was not built (otoc then computes these with tfjs ops). */
export function nativeKernels(): NativeKernels | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeKernels;
    } catch {
      addon = null;
    }
  }
  return addon;
}
