import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
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
    if (dy === undefined || y === undefined || dy.dtype !== 'float32' || y.dtype !== 'float32') {
      throw new Error(`${RELU_GRADIENT} takes float32 tensors dy and y`);
    }
    const dx = wasm.makeOutput(y.shape, 'float32');
    // Views taken after the allocation, which can move the heap.
    native.reluGradient(wasm.typedArrayFromHeap(dy) as Float32Array, wasm.typedArrayFromHeap(y) as Float32Array, wasm.typedArrayFromHeap(dx) as Float32Array);
    return dx;
  };
  return { kernelName: RELU_GRADIENT, backendName: 'wasm', kernelFunc };
}
