import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { batchNormKernels } from './batchnorm-kernels.js';
import { depthwiseFilterGradient, depthwiseInputGradient } from './conv-gradients.js';
import { maxPoolGradient } from './max-pool-gradient.js';
import { heapFloats, tensor4D } from './kernel-inputs.js';
import { nativeKernels } from './native-addon.js';
import { NATIVE_CONV_KERNELS } from './native-conv.js';
import { reluGradientKernel } from './relu-gradient.js';

/*
 * Kernels the wasm backend lacks or runs slowly: convolutions and their gradients on
 * onnxruntime (native-conv.ts); training-mode batch normalization and the ReLU gradient on
 * otoc's native addon (batchnorm-kernels.ts, relu-gradient.ts), when it was built;
 * both depthwise backprops, each one forward depthwise convolution of the backend's own (ops
 * called inside a kernel are not recorded on the gradient tape, and none of them dispatches back
 * to these kernels); a MaxPoolGrad that loops over the backend's memory (wasm's own misplaces
 * gradients); and an Identity that shares its input's data.
 */

const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, attrs }) => {
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const x = tensor4D(inputs.x, 'x');
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  return tf.tidy(() => depthwiseFilterGradient(x, tensor4D(inputs.dy, 'dy'), info));
};

const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, attrs }) => {
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const filter = tensor4D(inputs.filter, 'filter');
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
  return tf.tidy(() => depthwiseInputGradient(tensor4D(inputs.dy, 'dy'), filter, info));
};

const maxPoolGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const x = tensor4D(inputs.input, 'input');
  const dy = tensor4D(inputs.dy, 'dy');
  const info = tf.backend_util.computePool2DInfo(x.shape, filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as BackendWasm;
  const dx = wasm.makeOutput(x.shape, 'float32');
  // Views of the heap taken after the allocation, which can grow (and so move) it.
  const dxValues = heapFloats(wasm, dx);
  dxValues.fill(0);
  maxPoolGradient(heapFloats(wasm, x), heapFloats(wasm, dy), dxValues, info);
  return dx;
};

/**
 * Identity by reference, as the cpu backend and the wasm backend's own Reshape do: tensors are
 * immutable. The wasm backend copies instead, and the gradient tape clones (Identity) every
 * tensor it saves for the backward pass.
 */
const shareData: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x;
  if (x === undefined) throw new Error('Identity needs an input x');
  (backend as tf.KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

const addon = nativeKernels();

export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  ...NATIVE_CONV_KERNELS,
  ...(addon ? [...batchNormKernels(addon), reluGradientKernel(addon)] : []),
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: 'wasm', kernelFunc: depthwiseBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseBackpropInput },
  { kernelName: tf.MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad },
  { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: shareData },
];

/** Installs WASM_KERNELS for the wasm backend, replacing its own; calling it again changes nothing. */
export function registerWasmKernels(): void {
  for (const config of WASM_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current === config) continue;
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
