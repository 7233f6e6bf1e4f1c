import type * as tf from '@tensorflow/tfjs';
import { convGraph, convGraphKey } from './conv-graphs.js';
import { convKernels } from './conv-kernels.js';
import { runNative } from './native-run.js';

/*
 * The fallback path's 2-D convolution and both its gradients, computed by onnxruntime's native
 * CPU kernels (MLAS, with AVX2/AVX-512) on the tensors' memory in the wasm heap: WebAssembly's
 * 128-bit SIMD without fused multiply-add is several times slower on these. One onnxruntime
 * thread, as the rest of the step runs on one: parallelism comes from data-parallel shards
 * (train/shards.ts). Depthwise convolutions stay on the wasm backend (conv-gradients.ts).
 */
export const NATIVE_CONV_KERNELS: readonly tf.KernelConfig[] = convKernels(
  (backend, { kind, info, inputs, outShape }) => runNative(backend, convGraphKey(kind, info), () => convGraph(kind, info), inputs, outShape),
  false,
);
