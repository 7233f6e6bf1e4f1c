import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelGraph } from './kernel-graph.js';
import { runNative } from './native-run.js';

/**
 * otoc's kernel for the column sums of a float32 matrix [rows, channels] → [channels]: what
 * batch normalization reduces over, four times per layer and step. The wasm backend has no fast
 * path for it (a matrix-vector product there runs at under 1 GFLOP/s), so on wasm it runs on
 * onnxruntime; other backends have no such kernel and batchnorm.ts uses a matrix product.
 * Not differentiable: its results feed only gradients and statistics computed in closed form.
 */
export const CHANNEL_SUMS = 'OtocChannelSums';

function sumsGraph(channels: number): Uint8Array {
  const g = new KernelGraph();
  const x = g.input('x', ['rows', channels]);
  return g.finish(g.op('ReduceSum', [x, g.int64s([0])], { keepdims: 0 }));
}

const channelSums: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x;
  if (x === undefined || x.shape.length !== 2 || x.dtype !== 'float32') throw new Error(`${CHANNEL_SUMS} takes a float32 matrix x`);
  const channels = x.shape[1];
  return runNative(backend as BackendWasm, `sums,${channels}`, () => sumsGraph(channels), { x }, [channels]);
};

export const CHANNEL_SUMS_KERNEL: tf.KernelConfig = { kernelName: CHANNEL_SUMS, backendName: 'wasm', kernelFunc: channelSums };
