import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapFloats } from './kernel-inputs.js';
import type { NativeKernels } from './native-addon.js';

/**
 * The ReLU gradient on the wasm backend, one native pass over the heap (dy where y > 0), where
 * tfjs's own gradient takes three kernels (Step, Cast, Multiply).
 */
export const RELU_GRADIENT = 'OtocReluGradient';

export function reluGradientKernel(native: NativeKernels): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend }) => {
    const wasm = backend as BackendWasm;
    const { dy, y } = inputs;
    if (dy === undefined || y === undefined) throw new Error(`${RELU_GRADIENT} takes tensors dy and y`);
    const dx = wasm.makeOutput(y.shape, 'float32');
    native.reluGradient(heapFloats(wasm, dy), heapFloats(wasm, y), heapFloats(wasm, dx));
    return dx;
  };
  return { kernelName: RELU_GRADIENT, backendName: 'wasm', kernelFunc };
}
