import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvGraphKind } from './conv-graphs.js';
import { tensor4D } from './kernel-inputs.js';

/*
 * The wasm backend's 2-D convolution kernels and both their gradients, plain and depthwise, with
 * their attributes read into a Conv2DInfo; what computes them is the path's (onednn-conv.ts,
 * native-conv.ts).
 */

/** One convolution kernel's work: its two inputs in the order its kind takes them (x, filter / dy, filter / x, dy). */
export interface ConvCall {
  kind: ConvGraphKind;
  info: tf.backend_util.Conv2DInfo;
  depthwise: boolean;
  inputs: Record<string, tf.TensorInfo>;
  outShape: number[];
}

export type ConvRunner = (backend: BackendWasm, call: ConvCall) => tf.TensorInfo;

function requireChannelsLast(dataFormat: 'NHWC' | 'NCHW' | undefined, kernelName: string): void {
  if (dataFormat === 'NCHW') throw new Error(`${kernelName} on wasm supports NHWC only, got ${dataFormat}`);
}

const info = (depthwise: boolean, inShape: number[], filterShape: number[], attrs: tf.Conv2DAttrs | tf.DepthwiseConv2dNativeAttrs) =>
  tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    (attrs as { dilations?: number | [number, number] }).dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );

/** The three kernels of plain (Conv2D…) or depthwise (DepthwiseConv2dNative…) convolutions, computed by `run`. */
export function convKernels(run: ConvRunner, depthwise: boolean): tf.KernelConfig[] {
  const [forward, inputGradient, filterGradient] = depthwise
    ? [tf.DepthwiseConv2dNative, tf.DepthwiseConv2dNativeBackpropInput, tf.DepthwiseConv2dNativeBackpropFilter]
    : [tf.Conv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter];
  const kernel = (kernelName: string, kernelFunc: (inputs: tf.NamedTensorInfoMap, attrs: tf.Conv2DAttrs & Record<string, unknown>) => ConvCall): tf.KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      requireChannelsLast((attrs as { dataFormat?: 'NHWC' | 'NCHW' }).dataFormat, kernelName);
      return run(backend as BackendWasm, kernelFunc(inputs, attrs as unknown as tf.Conv2DAttrs & Record<string, unknown>));
    },
  });
  return [
    kernel(forward, (inputs, attrs) => {
      const [x, filter] = [tensor4D(inputs.x, 'x'), tensor4D(inputs.filter, 'filter')];
      const i = info(depthwise, x.shape, filter.shape, attrs);
      return { kind: 'forward', info: i, depthwise, inputs: { x, filter }, outShape: i.outShape };
    }),
    kernel(inputGradient, (inputs, attrs) => {
      const [dy, filter] = [tensor4D(inputs.dy, 'dy'), tensor4D(inputs.filter, 'filter')];
      const inputShape = attrs.inputShape as number[];
      return { kind: 'input-gradient', info: info(depthwise, inputShape, filter.shape, attrs), depthwise, inputs: { dy, filter }, outShape: inputShape };
    }),
    kernel(filterGradient, (inputs, attrs) => {
      const [x, dy] = [tensor4D(inputs.x, 'x'), tensor4D(inputs.dy, 'dy')];
      const filterShape = attrs.filterShape as number[];
      return { kind: 'filter-gradient', info: info(depthwise, x.shape, filterShape, attrs), depthwise, inputs: { x, dy }, outShape: filterShape };
    }),
  ];
}
