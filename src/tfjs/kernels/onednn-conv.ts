import type * as tf from '@tensorflow/tfjs';
import { convKernels, type ConvCall, type ConvRunner } from './conv-kernels.js';
import { heapFloats, windowParams } from './kernel-inputs.js';
import { ConvKind, type OneDnn } from './native-addon.js';

/*
 * The wasm backend's 2-D convolutions, plain and depthwise, and both gradients of each, on
 * oneDNN (native/src/onednn.cpp): its JIT kernels read the tensors where they lie in the wasm
 * heap, NHWC, and write the result straight into the output tensor, on the calling thread's
 * oneDNN threads.
 */

const KINDS: Record<ConvCall['kind'], ConvKind> = {
  forward: ConvKind.Forward,
  'input-gradient': ConvKind.BackwardData,
  'filter-gradient': ConvKind.BackwardWeights,
};

/** The six kernels, computed by `onednn`. */
export function oneDnnConvKernels(onednn: OneDnn): tf.KernelConfig[] {
  const run: ConvRunner = (wasm, { kind, info, depthwise, inputs, outShape }) => {
    const out = wasm.makeOutput(outShape, 'float32');
    // Views of the heap taken after the allocation, which can grow (and so move) it.
    const outValues = heapFloats(wasm, out);
    if (outValues.length === 0) return out;
    if (info.batchSize === 0) {
      outValues.fill(0);
      return out;
    }
    const [a, b] = Object.values(inputs).map((t) => heapFloats(wasm, t));
    onednn.conv(KINDS[kind], windowParams(info, depthwise ? info.inChannels : 1), a, b, outValues);
    return out;
  };
  return [...convKernels(run, false), ...convKernels(run, true)];
}
