import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapFloats, tensor4D } from './kernel-inputs.js';
import { ConvKind, type OneDnn } from './native-addon.js';

/*
 * The wasm backend's 2-D convolutions, plain and depthwise, and both gradients of each, on
 * oneDNN (native/src/onednn.cpp): its JIT kernels read the tensors where they lie in the wasm
 * heap, NHWC, and write the result straight into the output tensor, on the calling thread's
 * oneDNN threads.
 */

/** The OnednnConv fields of native/src/onednn.h, in order. */
export function convParams(info: tf.backend_util.Conv2DInfo, groups: number): Float64Array {
  const { top, left, bottom, right } = info.padInfo;
  return Float64Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
    groups,
  );
}

function requireChannelsLast(dataFormat: 'NHWC' | 'NCHW' | undefined, kernelName: string): void {
  if (dataFormat === 'NCHW') throw new Error(`${kernelName} on wasm supports NHWC only, got ${dataFormat}`);
}

/** Runs `kind` into a new tensor of `outShape`; `a` and `b` as ConvKind says. */
function run(onednn: OneDnn, backend: unknown, kind: ConvKind, info: tf.backend_util.Conv2DInfo, depthwise: boolean, a: tf.TensorInfo, b: tf.TensorInfo, outShape: number[]): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(outShape, 'float32');
  // Views of the heap taken after the allocation, which can grow (and so move) it.
  const outValues = heapFloats(wasm, out);
  if (outValues.length === 0) return out;
  if (info.batchSize === 0) {
    outValues.fill(0);
    return out;
  }
  onednn.conv(kind, convParams(info, depthwise ? info.inChannels : 1), heapFloats(wasm, a), heapFloats(wasm, b), outValues);
  return out;
}

/** The six kernels, computed by `onednn`. */
export function oneDnnConvKernels(onednn: OneDnn): tf.KernelConfig[] {
  const conv2D: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
    requireChannelsLast(dataFormat, tf.Conv2D);
    const x = tensor4D(inputs.x, 'x');
    const filter = tensor4D(inputs.filter, 'filter');
    const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dilations, pad, dimRoundingMode);
    return run(onednn, backend, ConvKind.Forward, info, false, x, filter, info.outShape);
  };
  const conv2DBackpropInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    requireChannelsLast(dataFormat, tf.Conv2DBackpropInput);
    const dy = tensor4D(inputs.dy, 'dy');
    const filter = tensor4D(inputs.filter, 'filter');
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode);
    return run(onednn, backend, ConvKind.BackwardData, info, false, dy, filter, inputShape);
  };
  const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    requireChannelsLast(dataFormat, tf.Conv2DBackpropFilter);
    const x = tensor4D(inputs.x, 'x');
    const dy = tensor4D(inputs.dy, 'dy');
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    return run(onednn, backend, ConvKind.BackwardWeights, info, false, x, dy, filterShape);
  };
  const depthwise: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
    requireChannelsLast(dataFormat, tf.DepthwiseConv2dNative);
    const x = tensor4D(inputs.x, 'x');
    const filter = tensor4D(inputs.filter, 'filter');
    const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
    return run(onednn, backend, ConvKind.Forward, info, true, x, filter, info.outShape);
  };
  const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const dy = tensor4D(inputs.dy, 'dy');
    const filter = tensor4D(inputs.filter, 'filter');
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
    return run(onednn, backend, ConvKind.BackwardData, info, true, dy, filter, inputShape);
  };
  const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const x = tensor4D(inputs.x, 'x');
    const dy = tensor4D(inputs.dy, 'dy');
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
    return run(onednn, backend, ConvKind.BackwardWeights, info, true, x, dy, filterShape);
  };
  return [
    { kernelName: tf.Conv2D, backendName: 'wasm', kernelFunc: conv2D },
    { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2DBackpropInput },
    { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
    { kernelName: tf.DepthwiseConv2dNative, backendName: 'wasm', kernelFunc: depthwise },
    { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseBackpropInput },
    { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: 'wasm', kernelFunc: depthwiseBackpropFilter },
  ];
}
