import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convGraph, convGraphKey, type ConvGraphKind } from './conv-graphs.js';
import { tensor4D } from './kernel-inputs.js';
import { runNative } from './native-run.js';

/*
 * The wasm backend's 2-D convolution and both its gradients, computed by onnxruntime's native
 * CPU kernels (MLAS, with AVX2/AVX-512) on the tensors' memory in the wasm heap: WebAssembly's
 * 128-bit SIMD without fused multiply-add is several times slower on these, the bulk of a CNN's
 * training step. One onnxruntime thread, as the rest of the step runs on one: parallelism comes
 * from data-parallel shards (train/shards.ts); a second onnxruntime thread gained little on a
 * 2-core machine and lost on ResNet's small convolutions. Depthwise convolutions stay on the
 * wasm backend (conv-gradients.ts).
 */

function requireChannelsLast(dataFormat: 'NHWC' | 'NCHW', kernelName: string): void {
  if (dataFormat !== 'NHWC') throw new Error(`${kernelName} on wasm supports NHWC only, got ${dataFormat}`);
}

/** Runs `kind` of `info` on onnxruntime. */
function runConv(
  backend: BackendWasm,
  kind: ConvGraphKind,
  info: tf.backend_util.Conv2DInfo,
  inputs: Record<string, tf.TensorInfo>,
  outShape: number[],
): tf.TensorInfo {
  return runNative(backend, convGraphKey(kind, info), () => convGraph(kind, info), inputs, outShape);
}

const conv2D: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  requireChannelsLast(dataFormat, tf.Conv2D);
  const x = tensor4D(inputs.x, 'x');
  const filter = tensor4D(inputs.filter, 'filter');
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dilations, pad, dimRoundingMode);
  return runConv(backend as BackendWasm, 'forward', info, { x, filter }, info.outShape);
};

const conv2DBackpropInput: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  requireChannelsLast(dataFormat, tf.Conv2DBackpropInput);
  const dy = tensor4D(inputs.dy, 'dy');
  const filter = tensor4D(inputs.filter, 'filter');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode);
  return runConv(backend as BackendWasm, 'input-gradient', info, { dy, filter }, inputShape);
};

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  requireChannelsLast(dataFormat, tf.Conv2DBackpropFilter);
  const x = tensor4D(inputs.x, 'x');
  const dy = tensor4D(inputs.dy, 'dy');
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
  return runConv(backend as BackendWasm, 'filter-gradient', info, { x, dy }, filterShape);
};

export const NATIVE_CONV_KERNELS: readonly tf.KernelConfig[] = [
  { kernelName: tf.Conv2D, backendName: 'wasm', kernelFunc: conv2D },
  { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2DBackpropInput },
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
];
