import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, type Attributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Value } from '../src/ir/graph.js';
import { makeTensor, type Tensor } from '../src/ir/tensor.js';
import { buildMirror, type Mirror } from '../src/mirror/mirror.js';
import { encodeModel } from '../src/onnx/write.js';
import { DEFAULT_TOLERANCE, compareOutputs } from '../src/runtime/compare-outputs.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { Rng } from '../src/util/random.js';

/*
 * Ops reading a convolution's output, which the mirror holds channels-last, and the conv and
 * pool attribute combinations the ONNX node tests leave out, each checked against onnxruntime
 * on a batch of 2 (the ONNX node tests feed these ops ONNX-order inputs only), and their
 * gradient against central differences.
 */

/** A small graph builder: float inputs with a symbolic batch, random initializers, nodes. */
class Net {
  private readonly b = new GraphBuilder();
  private readonly rng = new Rng(17);
  private count = 0;

  input(name: string, dims: number[]): Value {
    return this.b.input(name, DataType.FLOAT, ['N', ...dims]);
  }

  weight(dims: number[], lo = -1, hi = 1): Value {
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => this.rng.uniform(lo, hi));
    return this.b.constant(DataType.FLOAT, dims, data, `w${this.count++}`);
  }

  ints(values: number[]): Value {
    return this.b.int64s(values, `i${this.count++}`);
  }

  floats(values: number[]): Value {
    return this.b.constant(DataType.FLOAT, [values.length], Float32Array.from(values), `f${this.count++}`);
  }

  node(opType: string, inputs: (Value | null)[], attributes: Attributes = {}, outputs = 1): Value[] {
    const names = Array.from({ length: outputs }, () => `v${this.count++}`);
    return this.b.node(opType, inputs, { attributes, outputs: names }).outputs as Value[];
  }

  /** conv 3×3 (pad 1) from C to `out` channels: its output is held channels-last. */
  conv(x: Value, channels: number, out: number): Value {
    return this.node('Conv', [x, this.weight([out, channels, 3, 3]), this.weight([out])], { pads: [1, 1, 1, 1] })[0];
  }

  /** x itself, exactly, but held channels-last: a 1×1 conv with the identity as weight. */
  channelsLastCopy(x: Value, channels: number): Value {
    const eye = Float32Array.from({ length: channels * channels }, (_, i) => (i % (channels + 1) === 0 ? 1 : 0));
    return this.node('Conv', [x, this.b.constant(DataType.FLOAT, [channels, channels, 1, 1], eye, `eye${this.count++}`)])[0];
  }

  model(outputs: Value[]): Model {
    for (const v of outputs) this.b.output(v);
    return this.b.model(13);
  }
}

/** A case: ops on c, a copy of x [N, 4, 8, 8] held channels-last as a convolution's output is. */
type Case = (net: Net, c: Value, x: Value) => Value[];

const CASES: Record<string, Case> = {
  'Concat on channels of two convs': (n, c, x) => n.node('Concat', [c, n.conv(x, 4, 2)], { axis: 1 }),
  'Concat on width with an ONNX-order input': (n, c) => n.node('Concat', [c, n.input('y', [4, 8, 3])], { axis: 3 }),
  'Softmax on channels': (n, c) => n.node('Softmax', [c], { axis: 1 }),
  'Softmax on height': (n, c) => n.node('Softmax', [c], { axis: 2 }),
  'LogSoftmax on width': (n, c) => n.node('LogSoftmax', [c], { axis: -1 }),
  'ReduceMean over space, dims dropped': (n, c) => n.node('ReduceMean', [c], { axes: [2, 3], keepdims: 0 }),
  'ReduceSum over channels, dims dropped': (n, c) => n.node('ReduceSum', [c, n.ints([1])], { keepdims: 0 }),
  'ReduceMax over the batch, dims dropped': (n, c) => n.node('ReduceMax', [c], { axes: [0], keepdims: 0 }),
  'ReduceMean over channels, dims kept': (n, c) => n.node('ReduceMean', [c], { axes: [1] }),
  'Pad constant on channels and space': (n, c) => n.node('Pad', [c, n.ints([0, 1, 2, 0, 0, 0, 1, 3]), n.floats([0.5])]),
  'Pad reflect': (n, c) => n.node('Pad', [c, n.ints([0, 0, 2, 1, 0, 0, 1, 2])], { mode: 'reflect' }),
  'Pad edge with a crop': (n, c) => n.node('Pad', [c, n.ints([0, 0, -1, 2, 0, 0, 1, -2])], { mode: 'edge' }),
  'Slice channels and every other column': (n, c) => n.node('Slice', [c, n.ints([1, 0]), n.ints([4, 8]), n.ints([1, 3]), n.ints([1, 2])]),
  'Slice backwards': (n, c) => n.node('Slice', [c, n.ints([-1]), n.ints([-9]), n.ints([2]), n.ints([-2])]),
  'Transpose to NHWC': (n, c) => n.node('Transpose', [c], { perm: [0, 2, 3, 1] }),
  'Transpose channels and batch': (n, c) => n.node('Transpose', [c], { perm: [1, 0, 3, 2] }),
  'Split channels': (n, c) => n.node('Split', [c, n.ints([1, 3])], { axis: 1 }, 2),
  'Add a per-channel bias': (n, c) => n.node('Add', [c, n.weight([4, 1, 1])]),
  'Mul by a row vector': (n, c) => n.node('Mul', [c, n.weight([8])]),
  'Div by [1, C, 1, 1]': (n, c) => n.node('Div', [c, n.weight([1, 4, 1, 1], 1, 2)]),
  'Sub an ONNX-order input': (n, c) => n.node('Sub', [n.input('y', [4, 8, 8]), c]),
  'PRelu per channel': (n, c) => n.node('PRelu', [c, n.weight([4, 1, 1])]),
  'Max with its negation': (n, c) => n.node('Max', [c, n.node('Neg', [c])[0]]),
  'Flatten': (n, c) => n.node('Flatten', [c], { axis: 1 }),
  'Reshape keeping the batch': (n, c) => n.node('Reshape', [c, n.ints([0, 4, 64])]),
  'Squeeze after a global pool': (n, c) => n.node('Squeeze', [n.node('GlobalAveragePool', [c])[0], n.ints([2, 3])]),
  'Unsqueeze': (n, c) => n.node('Unsqueeze', [c, n.ints([2])]),
  'Gather channels': (n, c) => n.node('Gather', [c, n.ints([2, 0])], { axis: 1 }),
  'Shape into Reshape': (n, c) => n.node('Reshape', [c, n.node('Shape', [c])[0]]),
  'Resize linear half_pixel ×2': (n, c) => n.node('Resize', [c, null, n.floats([1, 1, 2, 2])], { mode: 'linear' }),
  'Resize linear align_corners ×1.5': (n, c) =>
    n.node('Resize', [c, null, n.floats([1, 1, 1.5, 1.5])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }),
  'Resize nearest asymmetric floor': (n, c) =>
    n.node('Resize', [c, null, n.floats([1, 1, 2, 3])], { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }),
  'Resize cubic ×1.5': (n, c) => n.node('Resize', [c, null, n.floats([1, 1, 1.5, 1.5])], { mode: 'cubic' }),
  'Resize linear downsampling': (n, c) => n.node('Resize', [c, null, n.floats([1, 1, 0.6, 0.5])], { mode: 'linear' }),
  'BatchNormalization': (n, c) => n.node('BatchNormalization', [c, n.weight([4]), n.weight([4]), n.weight([4]), n.weight([4], 0.5, 2)]),
  'InstanceNormalization': (n, c) => n.node('InstanceNormalization', [c, n.weight([4]), n.weight([4])]),
  'MaxPool ceil_mode with pads': (n, c) => n.node('MaxPool', [c], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }),
  'MaxPool with pads': (n, c) => n.node('MaxPool', [c], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  'MaxPool dilated and strided': (n, c) => n.node('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] }),
  'AveragePool counting pads, ceil_mode': (n, c) =>
    n.node('AveragePool', [c], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], count_include_pad: 1, ceil_mode: 1 }),
  'AveragePool not counting pads, SAME_LOWER': (n, c) => n.node('AveragePool', [c], { kernel_shape: [3, 2], strides: [2, 2], auto_pad: 'SAME_LOWER' }),
  'GlobalMaxPool': (n, c) => n.node('GlobalMaxPool', [c]),
  'Conv in 2 groups': (n, c) => n.node('Conv', [c, n.weight([6, 2, 3, 3]), n.weight([6])], { group: 2, pads: [0, 1, 2, 1] }),
  'Conv depthwise ×2': (n, c) => n.node('Conv', [c, n.weight([8, 1, 3, 3])], { group: 4, pads: [1, 1, 1, 1], strides: [2, 1] }),
  'Conv depthwise strided and dilated': (n, c) => n.node('Conv', [c, n.weight([4, 1, 3, 3])], { group: 4, strides: [2, 2], dilations: [2, 1] }),
  'Conv strided and dilated': (n, c) => n.node('Conv', [c, n.weight([5, 4, 3, 2])], { strides: [2, 2], dilations: [2, 2], pads: [2, 1, 0, 1] }),
  'Conv SAME_LOWER strided': (n, c) => n.node('Conv', [c, n.weight([5, 4, 2, 2])], { strides: [2, 2], auto_pad: 'SAME_LOWER' }),
  'Conv 1-D': (n, c) => n.node('Conv', [n.node('Reshape', [c, n.ints([0, 4, 64])])[0], n.weight([3, 4, 3]), n.weight([3])], { pads: [2, 0], strides: [2] }),
  'MaxPool 1-D': (n, c) => n.node('MaxPool', [n.node('Reshape', [c, n.ints([0, 4, 64])])[0]], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  'ConvTranspose in 2 groups, output_padding, dilated': (n, c) =>
    n.node('ConvTranspose', [c, n.weight([4, 3, 3, 3]), n.weight([6])], {
      group: 2, strides: [2, 2], output_padding: [1, 0], dilations: [2, 1], pads: [1, 0, 0, 2],
    }),
  'ConvTranspose SAME_UPPER': (n, c) => n.node('ConvTranspose', [c, n.weight([4, 2, 3, 3])], { strides: [2, 2], auto_pad: 'SAME_UPPER' }),
  'ConvTranspose output_shape': (n, c) => n.node('ConvTranspose', [c, n.weight([4, 2, 3, 3])], { strides: [2, 2], output_shape: [18, 17] }),
  'MatMul after Flatten': (n, c) => n.node('MatMul', [n.node('Flatten', [c])[0], n.weight([256, 5])]),
};

describe.each(['wasm', 'cpu'] as const)('mirror on %s against onnxruntime on ops after a convolution', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(Object.keys(CASES))('%s', async (name) => {
    const net = new Net();
    const x = net.input('x', [4, 8, 8]);
    const model = net.model(CASES[name](net, net.channelsLastCopy(x, 4), x));
    const rng = new Rng(3);
    const feeds = Object.fromEntries(
      model.graph.inputs.map((v) => {
        const dims = [2, ...(v.type?.kind === 'tensor' ? v.type.shape!.slice(1).map((d) => d.value!) : [])];
        const size = dims.reduce((a, b) => a * b, 1);
        const data = v === x ? spacedValues(size, rng) : Float32Array.from({ length: size }, () => rng.normal());
        return [v.name, makeTensor(v.name, DataType.FLOAT, dims, data)];
      }),
    );
    const references = await runSession(await createSession(encodeModel(model).model), feeds);
    const mirror = buildMirror(model);
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, tf.tensor(t.data as Float32Array, t.dims)]));
    try {
      const computed = tf.tidy(() => mirror.forward(inputs, { training: false }));
      const outputs = computed.map((t) => makeTensor('mirror', DataType.FLOAT, t.shape, t.dataSync() as Float32Array));
      tf.dispose(computed);
      references.forEach((ref, i) => {
        const result = compareOutputs(ref, outputs[i], DEFAULT_TOLERANCE);
        expect(result.pass, result.reason).toBe(true);
      });
      const { analytic, numeric } = directionalDerivative(mirror, inputs, outputs);
      expect(Math.abs(analytic - numeric), `gradient ${analytic} vs differences ${numeric}`).toBeLessThan(1e-2 * Math.max(Math.abs(analytic), 1));
    } finally {
      tf.dispose(Object.values(inputs));
      mirror.dispose();
    }
  });
});

/** Distinct values SPACING apart in random order, none within SPACING / 2 of 0. */
function spacedValues(size: number, rng: Rng): Float32Array {
  const order = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return Float32Array.from(order, (k) => (k + 0.5 - size / 2) * SPACING);
}

/** Apart by more than twice the largest step of any element in the differences: no max, pool or kink switches its pick. */
const SPACING = 5e-3;
const STEP = 1e-3;

/**
 * The derivative of L = Σ output · r (r fixed, random) along a random direction v of input x:
 * by the mirror's gradient, ⟨∇ₓL, v⟩ with v in [−1, 1), and by central differences (L summed
 * in float64). The values of x are SPACING apart, so the step changes no pick of a max.
 */
function directionalDerivative(mirror: Mirror, inputs: Record<string, tf.Tensor>, outputs: Tensor[]): { analytic: number; numeric: number } {
  const rng = new Rng(40);
  const weights = outputs.map((o) => Float32Array.from({ length: o.data.length }, () => rng.normal()));
  const direction = tf.randomUniform(inputs.x.shape, -1, 1, 'float32', 50);
  const forward = (x: tf.Tensor) => mirror.forward({ ...inputs, x }, { training: false });
  const h = STEP;
  const [analytic, numeric] = tf.tidy(() => {
    const loss = (x: tf.Tensor) => tf.addN(forward(x).map((y, i) => tf.sum(tf.mul(y, tf.tensor(weights[i], y.shape))))) as tf.Scalar;
    const gradient = tf.grad(loss)(inputs.x);
    const along = (sign: number) =>
      forward(tf.add(inputs.x, tf.mul(direction, sign * h))).reduce((sum, y, i) => sum + dot(y.dataSync() as Float32Array, weights[i]), 0);
    return [tf.sum(tf.mul(gradient, direction)).dataSync()[0], (along(1) - along(-1)) / (2 * h)];
  });
  direction.dispose();
  return { analytic, numeric };
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
