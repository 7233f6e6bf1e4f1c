/**
 * Milliseconds per call of otoc's wasm kernels against the paths they replace, on the issue's
 * shape: x [64,28,28,32], filter [3,3,32,32], strides 1 and 2, 'same'; max pooling 2×2, stride 2.
 * Run: npx tsx bench/kernels.ts
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/tfjs/backend.js';
import { batchNormTrain } from '../src/tfjs/batchnorm.js';

const X: [number, number, number, number] = [64, 28, 28, 32];
const FILTER: [number, number, number, number] = [3, 3, 32, 32];
const CONV = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC' };

/** The wasm backend's own kernel, before otoc's replaces it. */
function wasmOwnKernel(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name}`);
  return config;
}
const wasmOwnInput = wasmOwnKernel(tf.Conv2DBackpropInput);
const wasmOwnConv = wasmOwnKernel(tf.Conv2D);
const wasmOwnMaxPoolGrad = wasmOwnKernel(tf.MaxPoolGrad);

/** Median milliseconds of `fn` over `runs` calls after two warm-up calls. */
async function msPerCall(fn: () => tf.Tensor | tf.Tensor[], runs = 7): Promise<number> {
  const once = async () => {
    const start = performance.now();
    const out = tf.tidy(fn);
    for (const t of [out].flat()) await t.data();
    tf.dispose(out);
    return performance.now() - start;
  };
  await once();
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
}

await initBackend('wasm');
const rows: [string, string, number][] = [];

const t = {
  x: tf.randomNormal<tf.Rank.R4>(X, 0, 1, 'float32', 1),
  filter: tf.randomNormal<tf.Rank.R4>(FILTER, 0, 1, 'float32', 3),
  gamma: tf.ones([X[3]]) as tf.Tensor1D,
  beta: tf.zeros([X[3]]) as tf.Tensor1D,
};
const dyOfStride = (stride: number) =>
  tf.randomNormal<tf.Rank.R4>([X[0], Math.ceil(X[1] / stride), Math.ceil(X[2] / stride), FILTER[3]], 0, 1, 'float32', 2);
const dy = { 1: dyOfStride(1), 2: dyOfStride(2) };
const filterGrad = (stride: 1 | 2) => () =>
  runKernel(tf.Conv2DBackpropFilter, { x: t.x, dy: dy[stride] }, { ...CONV, strides: [stride, stride], filterShape: FILTER });
const inputGrad = (stride: 1 | 2) => () =>
  runKernel(tf.Conv2DBackpropInput, { dy: dy[stride], filter: t.filter }, { ...CONV, strides: [stride, stride], inputShape: X });
for (const stride of [1, 2] as const) {
  rows.push([`filter gradient, stride ${stride}`, 'otoc: onnxruntime, dyᵀ times the taps’ windows', await msPerCall(filterGrad(stride))]);
  rows.push([`input gradient, stride ${stride}`, 'otoc: onnxruntime ConvTranspose', await msPerCall(inputGrad(stride))]);
}

const bnLoss = (norm: (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor) => () =>
  tf.grads((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.sum(tf.square(norm(x, gamma as tf.Tensor1D, beta as tf.Tensor1D))))([
    t.x,
    t.gamma,
    t.beta,
  ]);
const otocBatchNorm = bnLoss((x, gamma, beta) => batchNormTrain(x, gamma, beta, 1e-5).y);
const tfBatchNorm = bnLoss((x, gamma, beta) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5);
});
rows.push(['batch norm, forward + backward + a square loss', 'otoc: native kernels (native/, the addon)', await msPerCall(otocBatchNorm)]);
rows.push(['batch norm, forward + backward + a square loss', 'tf.batchNorm', await msPerCall(tfBatchNorm)]);
const forward = (stride: 1 | 2) => () => tf.conv2d(t.x, t.filter, stride, 'same');
for (const stride of [1, 2] as const) rows.push([`conv2d forward, stride ${stride}`, 'otoc: onnxruntime Conv', await msPerCall(forward(stride))]);
const relu = tf.relu(t.x);
const pooled = tf.maxPool(relu, 2, 2, 'valid');
const poolDy = tf.randomNormal(pooled.shape, 0, 1, 'float32', 4);
const maxPoolGrad = () =>
  runKernel(tf.MaxPoolGrad, { dy: poolDy, input: relu, output: pooled }, { filterSize: 2, strides: 2, pad: 'valid' });
rows.push(['max pool gradient, after a ReLU', 'otoc: one pass over the windows', await msPerCall(maxPoolGrad)]);

/** Puts back the wasm backend's own kernel; it binds its wasm function when the backend starts, which it did without it. */
function restore(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  config.setupFunc?.(tf.backend());
}
restore(wasmOwnMaxPoolGrad);
rows.push(['max pool gradient, after a ReLU', "the wasm backend's own kernel (wrong where a window's max ≤ 0)", await msPerCall(maxPoolGrad)]);
restore(wasmOwnInput);
restore(wasmOwnConv);
for (const stride of [1, 2] as const) {
  rows.push([`conv2d forward, stride ${stride}`, "the wasm backend's own kernel (XNNPACK)", await msPerCall(forward(stride))]);
  rows.push([`input gradient, stride ${stride}`, "the wasm backend's own kernel", await msPerCall(inputGrad(stride), 3)]);
}

console.log(`wasm backend; x ${X.join('×')}, filter ${FILTER.join('×')}, 'same' padding`);
console.log('| kernel | path | ms per call |\n|---|---|---|');
for (const [kernel, path, ms] of rows) console.log(`| ${kernel} | ${path} | ${ms.toFixed(1)} |`);
