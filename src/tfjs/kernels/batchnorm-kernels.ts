import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapFloats } from './kernel-inputs.js';
import type { NativeKernels } from './native-addon.js';

/*
 * Training-mode batch normalization on the wasm backend as three native kernels over the
 * tensors' memory in the wasm heap (x channels-last, any rank): the batch's moments, the
 * normalization, and its closed-form gradient. Each is one or two passes over the data where
 * the same with tfjs-wasm ops takes about a dozen, plus a kernel call per per-channel op.
 */

export const BATCH_NORM_MOMENTS = 'OtocBatchNormMoments';
export const BATCH_NORM_APPLY = 'OtocBatchNormApply';
export const BATCH_NORM_GRADIENT = 'OtocBatchNormGradient';

/** Attributes of the apply and gradient kernels. */
export interface BatchNormAttrs {
  epsilon: number;
}

function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`batch norm kernel input '${name}' is missing`);
  return t;
}

const channelsOf = (x: tf.TensorInfo) => x.shape[x.shape.length - 1];

/** The three kernels for the wasm backend, computed by `native`. Outputs are allocated before any heap view is taken: allocating can move the heap. */
export function batchNormKernels(native: NativeKernels): tf.KernelConfig[] {
  const moments: tf.KernelFunc = ({ inputs, backend }) => {
    const wasm = backend as BackendWasm;
    const x = input(inputs, 'x');
    const [mean, variance] = [wasm.makeOutput([channelsOf(x)], 'float32'), wasm.makeOutput([channelsOf(x)], 'float32')];
    native.moments(heapFloats(wasm, x), channelsOf(x), heapFloats(wasm, mean), heapFloats(wasm, variance));
    return [mean, variance];
  };
  const apply: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const [x, mean, variance, gamma, beta] = ['x', 'mean', 'variance', 'gamma', 'beta'].map((n) => input(inputs, n));
    const y = wasm.makeOutput(x.shape, 'float32');
    const { epsilon } = attrs as unknown as BatchNormAttrs;
    native.apply(heapFloats(wasm, x), channelsOf(x), heapFloats(wasm, mean), heapFloats(wasm, variance), heapFloats(wasm, gamma), heapFloats(wasm, beta), epsilon, heapFloats(wasm, y));
    return y;
  };
  const gradient: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const wasm = backend as BackendWasm;
    const [dy, x, mean, variance, gamma] = ['dy', 'x', 'mean', 'variance', 'gamma'].map((n) => input(inputs, n));
    const channels = channelsOf(x);
    const outputs = [wasm.makeOutput(x.shape, 'float32'), wasm.makeOutput([channels], 'float32'), wasm.makeOutput([channels], 'float32')];
    const [dx, dGamma, dBeta] = outputs.map((t) => heapFloats(wasm, t));
    const { epsilon } = attrs as unknown as BatchNormAttrs;
    native.gradient(heapFloats(wasm, dy), heapFloats(wasm, x), channels, heapFloats(wasm, mean), heapFloats(wasm, variance), heapFloats(wasm, gamma), epsilon, dx, dGamma, dBeta);
    return outputs;
  };
  return [
    { kernelName: BATCH_NORM_MOMENTS, backendName: 'wasm', kernelFunc: moments },
    { kernelName: BATCH_NORM_APPLY, backendName: 'wasm', kernelFunc: apply },
    { kernelName: BATCH_NORM_GRADIENT, backendName: 'wasm', kernelFunc: gradient },
  ];
}
