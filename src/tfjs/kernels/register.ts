import * as tf from '@tensorflow/tfjs';
import { batchNormKernels } from './batchnorm-kernels.js';
import { depthwiseFilterGradient, depthwiseInputGradient } from './conv-gradients.js';
import { maxPoolGradKernel } from './max-pool-gradient.js';
import { tensor4D } from './kernel-inputs.js';
import { kernelPath, nativeKernels, type KernelPath } from './native-addon.js';
import { NATIVE_CONV_KERNELS } from './native-conv.js';
import { oneDnnConvKernels } from './onednn-conv.js';
import { reluGradientKernel } from './relu-gradient.js';

/*
 * Kernels the wasm backend lacks or runs slowly. Convolutions, plain and depthwise, and their
 * gradients: on oneDNN in otoc's native addon (onednn-conv.ts) where it was built with it;
 * otherwise (the fallback path) plain ones on onnxruntime (native-conv.ts) and the depthwise
 * backprops as one forward depthwise convolution of the backend's own each (ops called inside a
 * kernel are not recorded on the gradient tape, and none of them dispatches back to these
 * kernels). On both paths: training-mode batch normalization and the ReLU gradient on the native
 * addon (batchnorm-kernels.ts, relu-gradient.ts), when it was built; a MaxPoolGrad that loops
 * over the backend's memory (wasm's own misplaces gradients); and an Identity that shares its
 * input's data.
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

const FALLBACK_CONV_KERNELS: readonly tf.KernelConfig[] = [
  ...NATIVE_CONV_KERNELS,
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: 'wasm', kernelFunc: depthwiseBackpropFilter },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseBackpropInput },
];

const addon = nativeKernels();
const COMMON_KERNELS: readonly tf.KernelConfig[] = [maxPoolGradKernel(addon), { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: shareData }];
const ADDON_KERNELS: readonly tf.KernelConfig[] = addon ? [...batchNormKernels(addon), reluGradientKernel(addon)] : [];
const ONEDNN_CONV_KERNELS: readonly tf.KernelConfig[] = addon?.onednn ? oneDnnConvKernels(addon.onednn) : [];

/** The kernels otoc installs for the wasm backend on `path`. */
export function wasmKernels(path: KernelPath['kind']): readonly tf.KernelConfig[] {
  return [...(path === 'onednn' ? ONEDNN_CONV_KERNELS : FALLBACK_CONV_KERNELS), ...ADDON_KERNELS, ...COMMON_KERNELS];
}

/** The wasm backend's own kernel of each name otoc replaced (undefined: it had none), to put back. */
const backendOwn = new Map<string, tf.KernelConfig | undefined>();

/**
 * Installs the kernels of `path` (by default the one kernelPath() chooses) for the wasm backend,
 * replacing its own, and puts its own back where the other path had replaced them; calling it
 * again changes nothing.
 */
export function registerWasmKernels(path: KernelPath['kind'] = kernelPath().kind): void {
  const wanted = wasmKernels(path);
  for (const [name, own] of backendOwn) {
    if (wanted.some((c) => c.kernelName === name)) continue;
    tf.unregisterKernel(name, 'wasm');
    if (own) tf.registerKernel(own);
    backendOwn.delete(name);
  }
  for (const config of wanted) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current === config) continue;
    if (!backendOwn.has(config.kernelName)) backendOwn.set(config.kernelName, current);
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
