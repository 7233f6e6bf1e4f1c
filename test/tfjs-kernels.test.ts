import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/tfjs/backend.js';
import { batchNormEval, batchNormTrain } from '../src/tfjs/batchnorm.js';
import { BATCH_NORM_APPLY, BATCH_NORM_GRADIENT, BATCH_NORM_MOMENTS } from '../src/tfjs/kernels/batchnorm-kernels.js';
import { ConvKind, ONEDNN_VARIABLE, coreCount, kernelPath, nativeKernels, setKernelThreads } from '../src/tfjs/kernels/native-addon.js';
import { RELU_GRADIENT } from '../src/tfjs/kernels/relu-gradient.js';
import { relu } from '../src/tfjs/relu.js';
import { registerWasmKernels, wasmKernels } from '../src/tfjs/kernels/register.js';
import { Rng } from '../src/util/random.js';

/*
 * Every kernel otoc registers for the wasm backend, checked against the cpu backend's own
 * kernel on the same inputs and attributes, on both kernel paths: oneDNN's convolutions and the
 * fallback (onnxruntime's, and tfjs-wasm's depthwise ones). Shape classes, batch ≤ 2: 1×1, 3×3,
 * strided, padded (same, valid, explicit, wider than the filter), dilated, grouped, depthwise.
 */

const PATHS = ['onednn', 'fallback'] as const;

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Backend = 'cpu' | 'wasm';

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

const explicit = (top: number, bottom: number, left: number, right: number): tf.backend_util.ExplicitPadding => [
  [0, 0],
  [top, bottom],
  [left, right],
  [0, 0],
];

const CONV_CASES: ConvCase[] = [
  { x: [1, 7, 7, 1], filter: [3, 3, 1, 1], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same' },
  { x: [2, 8, 8, 3], filter: [5, 5, 3, 32], strides: [2, 2], pad: 'valid' },
  { x: [2, 7, 9, 32], filter: [1, 1, 32, 3], strides: [2, 2], pad: 'valid' },
  { x: [1, 6, 5, 3], filter: [3, 5, 3, 3], strides: [2, 1], pad: explicit(1, 2, 0, 3) },
  { x: [2, 5, 5, 32], filter: [3, 3, 32, 32], strides: [1, 1], pad: explicit(2, 0, 0, 1) },
  { x: [2, 11, 11, 1], filter: [5, 5, 1, 32], strides: [2, 2], pad: 'same' },
  { x: [1, 6, 6, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 1 },
  // Strides that split the filter into sub-filters of unequal length, or none at all for a phase.
  { x: [2, 10, 11, 3], filter: [4, 4, 3, 5], strides: [3, 3], pad: 'same' },
  { x: [2, 8, 8, 4], filter: [2, 2, 4, 3], strides: [2, 2], pad: 'valid' },
  { x: [1, 7, 8, 3], filter: [3, 3, 3, 2], strides: [1, 2], pad: explicit(0, 1, 2, 0) },
  { x: [2, 9, 9, 4], filter: [5, 3, 4, 4], strides: [3, 2], pad: explicit(2, 2, 1, 1) },
  { x: [2, 9, 9, 8], filter: [1, 1, 8, 4], strides: [3, 3], pad: 'same' },
  // Pads wider than the filter: some outputs, or all of them, read only padding.
  { x: [2, 3, 3, 2], filter: [1, 1, 2, 2], strides: [2, 2], pad: explicit(4, 0, 0, 1) },
  { x: [2, 1, 3, 2], filter: [1, 1, 2, 2], strides: [2, 1], pad: explicit(3, 0, 0, 0) },
];

const DEPTHWISE_CASES: ConvCase[] = [
  { x: [1, 7, 7, 1], filter: [3, 3, 1, 1], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 8, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 'same' },
  { x: [2, 8, 7, 32], filter: [5, 5, 32, 1], strides: [1, 1], pad: 'valid' },
  { x: [2, 6, 6, 16], filter: [3, 3, 16, 1], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 2], strides: [2, 1], pad: explicit(0, 2, 1, 0) },
  { x: [1, 5, 6, 32], filter: [1, 1, 32, 1], strides: [2, 2], pad: 'valid' },
];

function randomArray(size: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: size }, () => rng.uniform(-1, 1));
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `compute` on `backend` with fresh tensors and returns its output's values. */
async function on(backend: Backend, compute: () => tf.Tensor): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const out = tf.tidy(compute);
  const values = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  return { shape, values };
}

/** |actual − expected| ≤ 1e-4·|expected| + 1e-5·(largest |expected|, at least 1), element by element. */
function expectClose(actual: { shape: number[]; values: Float32Array }, expected: { shape: number[]; values: Float32Array }): void {
  expect(actual.shape).toEqual(expected.shape);
  const scale = Math.max(1, ...expected.values.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.values.length; i++) {
    const excess = Math.abs(actual.values[i] - expected.values[i]) - 1e-4 * Math.abs(expected.values[i]) - 1e-5 * scale;
    worst = Math.max(worst, excess);
  }
  expect(worst).toBe(0);
}

/** The same kernel and attributes on wasm (otoc's) and on cpu (tfjs's). */
async function expectKernelMatchesCpu(
  kernelName: string,
  inputs: Record<string, { shape: number[]; values: Float32Array }>,
  attrs: tf.NamedAttrMap,
): Promise<void> {
  const run = () => {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
    return tf.engine().runKernel(kernelName, tensors, attrs) as tf.Tensor;
  };
  expectClose(await on('wasm', run), await on('cpu', run));
}

function describeCase(c: ConvCase): string {
  return `x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides.join(',')}, pad ${JSON.stringify(c.pad)}`;
}

function convInfo(c: ConvCase, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, depthwise);
}

beforeAll(async () => {
  expect(await initBackend('wasm')).toBe('wasm');
});

describe('otoc kernels are the ones the wasm backend runs', () => {
  afterAll(() => registerWasmKernels());

  it('the addon is built with oneDNN (make build installs libdnnl-dev), and oneDNN is the default path', () => {
    expect(nativeKernels()?.onednn?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(kernelPath().kind).toBe('onednn');
  });

  it(`${ONEDNN_VARIABLE}=0 forces the fallback path, and says so`, () => {
    const before = process.env[ONEDNN_VARIABLE];
    process.env[ONEDNN_VARIABLE] = '0';
    try {
      expect(kernelPath()).toEqual({ kind: 'fallback', reason: `${ONEDNN_VARIABLE}=0` });
    } finally {
      if (before === undefined) delete process.env[ONEDNN_VARIABLE];
      else process.env[ONEDNN_VARIABLE] = before;
    }
  });

  it("each path installs its kernels once, and switching puts the backend's own back", () => {
    registerWasmKernels('fallback');
    const ownDepthwise = tf.getKernel(tf.DepthwiseConv2dNative, 'wasm');
    expect(ownDepthwise).toBeDefined();
    for (const path of [...PATHS, ...PATHS]) {
      registerWasmKernels(path);
      registerWasmKernels(path);
      for (const config of wasmKernels(path)) expect(tf.getKernel(config.kernelName, 'wasm')).toBe(config);
    }
    expect(wasmKernels('onednn').map((c) => c.kernelName)).toContain(tf.DepthwiseConv2dNative);
    expect(tf.getKernel(tf.DepthwiseConv2dNative, 'wasm')).toBe(ownDepthwise);
  });

  it('include the native batch-norm kernels (the addon that `make build` compiles)', () => {
    registerWasmKernels();
    expect(nativeKernels()).not.toBeNull();
    for (const name of [BATCH_NORM_MOMENTS, BATCH_NORM_APPLY, BATCH_NORM_GRADIENT, RELU_GRADIENT]) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it('shards × kernel threads never exceed the cores', () => {
    const onednn = nativeKernels()!.onednn!;
    for (const shards of [1, 2, 3, coreCount(), coreCount() + 1]) {
      const threads = setKernelThreads(shards);
      expect(onednn.threads()).toBe(threads);
      expect(threads).toBe(Math.max(1, Math.floor(coreCount() / shards)));
    }
    setKernelThreads(1);
    expect(onednn.threads()).toBe(coreCount());
  });

  it('the oneDNN convolution refuses parameters and arrays that do not match', () => {
    const onednn = nativeKernels()!.onednn!;
    // x [1, 4, 4, 2], filter [3, 3, 2, 3], 'same': y [1, 4, 4, 3].
    const params = Float64Array.of(1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    const [x, w, y] = [new Float32Array(32), new Float32Array(54), new Float32Array(48)];
    expect(() => onednn.conv(ConvKind.Forward, params, x, w, new Float32Array(47))).toThrow(RangeError);
    expect(() => onednn.conv(ConvKind.Forward, params.subarray(1), x, w, y)).toThrow(RangeError);
    expect(() => onednn.conv(ConvKind.Forward, Float64Array.of(...params.subarray(0, 17), 2), x, w, y)).toThrow(RangeError);
    expect(() => onednn.conv(7 as ConvKind, params, x, w, y)).toThrow(RangeError);
    expect(() => onednn.conv(ConvKind.Forward, Float64Array.of(0, ...params.subarray(1)), x, w, y)).toThrow(RangeError);
    // Pads that do not give the output size: oneDNN refuses them, as a plain Error.
    expect(() => onednn.conv(ConvKind.Forward, Float64Array.of(...params.subarray(0, 13), 3, 1, 1, 1, 1), x, w, y)).toThrow(/oneDNN/);
    onednn.conv(ConvKind.Forward, params, x.fill(1), w.fill(1), y);
    // An inner output reads all 3×3 taps of both channels.
    expect(y[(1 * 4 + 1) * 3]).toBe(18);
  });

  it('the addon refuses arrays that do not match the shape', () => {
    const addon = nativeKernels()!;
    const [x, c2, c3] = [new Float32Array(12), new Float32Array(2), new Float32Array(3)];
    expect(() => addon.moments(x, 3, c3, c2)).toThrow(RangeError);
    expect(() => addon.moments(x, 5, c3, c3)).toThrow(RangeError);
    expect(() => addon.moments(new Float64Array(12) as unknown as Float32Array, 3, c3, c3)).toThrow(TypeError);
    expect(() => addon.apply(x, 3, c3, c3, c3, c3, 1e-5, new Float32Array(11))).toThrow(RangeError);
    const [mean, variance] = [new Float32Array(3), new Float32Array(3)];
    addon.moments(Float32Array.from({ length: 12 }, (_, i) => i), 3, mean, variance);
    expect([Array.from(mean), Array.from(variance)]).toEqual([[4.5, 5.5, 6.5], [11.25, 11.25, 11.25]]);
  });

  it('Identity shares data, and the copy outlives the original', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const original = tf.tensor([1, 2, 3]);
    const copy = tf.clone(original);
    original.dispose();
    expect(Array.from(await copy.data())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

type PoolValues = 'negative' | 'ties' | 'mixed';

interface PoolCase {
  x: [number, number, number, number];
  filter: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'ceil' | 'round';
  values: PoolValues;
}

const POOL_CASES: PoolCase[] = [
  { x: [2, 8, 8, 3], filter: 2, strides: 2, pad: 'valid', values: 'negative' },
  { x: [2, 8, 8, 32], filter: 2, strides: 2, pad: 'valid', values: 'ties' },
  { x: [2, 7, 9, 4], filter: 3, strides: 2, pad: 'same', values: 'ties' },
  { x: [1, 9, 9, 3], filter: 3, strides: 1, pad: 'valid', values: 'mixed' },
  { x: [2, 7, 7, 5], filter: 2, strides: 2, pad: 'same', values: 'negative' },
  { x: [1, 8, 7, 2], filter: 3, strides: 2, pad: 1, dimRoundingMode: 'ceil', values: 'ties' },
  { x: [1, 6, 6, 2], filter: [3, 2], strides: [1, 2], pad: explicit(1, 2, 0, 1), values: 'negative' },
  { x: [2, 5, 5, 32], filter: 2, strides: 1, pad: 'valid', values: 'ties' },
];

/** Values of a pooling case: all negative, few distinct levels after a ReLU (many ties), or both signs. */
function poolValues(kind: PoolValues, size: number, rng: Rng): Float32Array {
  const u = randomArray(size, rng);
  if (kind === 'negative') return u.map((v) => -0.01 - Math.abs(v));
  if (kind === 'ties') return u.map((v) => Math.max(0, Math.round(2 * v)));
  return u;
}

describe('max pool gradient', () => {
  it('reaches every window of all-negative values (wasm 4.22 gave them none)', async () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => -0.1 - ((i * 37) % 64) / 100);
    const grad = await on('wasm', () => grad4d((x: tf.Tensor4D) => tf.sum(tf.maxPool(x, 2, 2, 'valid')))(tf.tensor4d(x, [1, 8, 8, 1])));
    expect(grad.values.reduce((a, b) => a + b, 0)).toBe(16);
    expect(grad.values.every((v) => v === 0 || v === 1)).toBe(true);
  });

  it.each(POOL_CASES)('matches cpu: x $x, filter $filter, strides $strides, pad $pad, $values values', async (c) => {
    const rng = new Rng(sizeOf(c.x));
    const xValues = poolValues(c.values, sizeOf(c.x), rng);
    const outShape = tf.backend_util.computePool2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode).outShape;
    const weights = randomArray(sizeOf(outShape), rng);
    const grad = () =>
      grad4d((x: tf.Tensor4D) => tf.sum(tf.mul(tf.maxPool(x, c.filter, c.strides, c.pad, c.dimRoundingMode), tf.tensor(weights, outShape))))(
        tf.tensor4d(xValues, c.x),
      );
    expectClose(await on('wasm', grad), await on('cpu', grad));
  });
});

/** w with d−1 zero taps between its taps: a dilated convolution by w is a plain one by this. */
function dilateFilter(w: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw, c, m] = w.shape;
  return w
    .reshape([kh, 1, kw, 1, c, m])
    .pad([
      [0, 0],
      [0, d - 1],
      [0, 0],
      [0, d - 1],
      [0, 0],
      [0, 0],
    ])
    .reshape<tf.Tensor4D>([kh * d, kw * d, c, m])
    .slice([0, 0, 0, 0], [(kh - 1) * d + 1, (kw - 1) * d + 1, c, m]);
}

describe.each(PATHS)('%s kernels', (path) => {
  beforeAll(() => registerWasmKernels(path));
  afterAll(() => registerWasmKernels());

  describe.each(CONV_CASES)('conv2d and its backprops, case %#', (c) => {
    const rng = new Rng(sizeOf(c.x) + sizeOf(c.filter));
    const info = convInfo(c, false);
    const x = { shape: c.x, values: randomArray(sizeOf(c.x), rng) };
    const filter = { shape: c.filter, values: randomArray(sizeOf(c.filter), rng) };
    const dy = { shape: info.outShape, values: randomArray(sizeOf(info.outShape), rng) };
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };

    it(`Conv2D: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.Conv2D, { x, filter }, { ...common, dilations: [1, 1] });
    });

    it(`Conv2DBackpropFilter: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.Conv2DBackpropFilter, { x, dy }, { ...common, filterShape: c.filter });
    });

    it(`Conv2DBackpropInput: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.Conv2DBackpropInput, { dy, filter }, { ...common, inputShape: c.x });
    });
  });

  describe.each(DEPTHWISE_CASES)('depthwise convolution and its backprops, case %#', (c) => {
    const rng = new Rng(sizeOf(c.x) * 7 + sizeOf(c.filter));
    const info = convInfo(c, true);
    const x = { shape: c.x, values: randomArray(sizeOf(c.x), rng) };
    const filter = { shape: c.filter, values: randomArray(sizeOf(c.filter), rng) };
    const dy = { shape: info.outShape, values: randomArray(sizeOf(info.outShape), rng) };
    const common = { strides: c.strides, pad: c.pad, dilations: [1, 1] };

    it(`DepthwiseConv2dNative: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.DepthwiseConv2dNative, { x, filter }, { ...common, dataFormat: 'NHWC' });
    });

    it(`DepthwiseConv2dNativeBackpropFilter: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...common, filterShape: c.filter });
    });

    it(`DepthwiseConv2dNativeBackpropInput: ${describeCase(c)}`, async () => {
      await expectKernelMatchesCpu(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...common, inputShape: c.x });
    });
  });

  /** A grouped convolution as the mirror computes it (src/mirror/ops/conv.ts): the channels split into groups, one conv2d each. */
  function groupedConv(x: tf.Tensor4D, w: tf.Tensor4D, groups: number, strides: [number, number], pad: Pad): tf.Tensor4D {
    const xs = tf.split<tf.Tensor4D>(x, groups, 3);
    const ws = tf.split<tf.Tensor4D>(w, groups, 3);
    return tf.concat(xs.map((xi, i) => tf.conv2d(xi, ws[i], strides, pad as 'same')), 3);
  }

  describe('grouped convolutions', () => {
    const cases: (ConvCase & { groups: number })[] = [
      { x: [2, 7, 7, 4], filter: [3, 3, 2, 6], strides: [1, 1], pad: 'same', groups: 2 },
      { x: [1, 9, 8, 8], filter: [3, 3, 2, 8], strides: [2, 2], pad: explicit(1, 0, 1, 1), groups: 4 },
    ];
    it.each(cases)('output and gradients, x $x, filter $filter, $groups groups, strides $strides', async (c) => {
      const rng = new Rng(13);
      const xValues = randomArray(sizeOf(c.x), rng);
      const wValues = randomArray(sizeOf(c.filter), rng);
      const run = () => {
        const [x, w] = [tf.tensor4d(xValues, c.x), tf.tensor4d(wValues, c.filter)];
        const conv = (x: tf.Tensor4D, w: tf.Tensor4D) => groupedConv(x, w, c.groups, c.strides, c.pad);
        const [dx, dw] = grads4d((x: tf.Tensor4D, w: tf.Tensor4D) => tf.sum(tf.square(conv(x, w))))([x, w]);
        return tf.concat([conv(x, w).flatten(), dx.flatten(), dw.flatten()]);
      };
      expectClose(await on('wasm', run), await on('cpu', run));
    });
  });

  // tfjs's cpu backprop kernels ignore dilations (its conv gradients never pass them), so the
  // reference for a dilated convolution is the cpu result of a plain one with a dilated filter.
  // (tfjs differentiates dilated conv2d only when it is depthwise.)
  describe('dilated convolutions', () => {
    const dilation = 2;
    const cases: ConvCase[] = [
      { x: [2, 9, 9, 3], filter: [3, 3, 3, 2], strides: [1, 1], pad: 'same' },
      { x: [1, 8, 7, 3], filter: [3, 3, 3, 1], strides: [1, 1], pad: explicit(1, 0, 2, 1) },
    ];
    it.each(cases)('depthwise filter and input gradients, $x / $filter / $pad', async (c) => {
      const rng = new Rng(11);
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, dilation, c.pad, undefined, true);
      const xValues = randomArray(sizeOf(c.x), rng);
      const wValues = randomArray(sizeOf(c.filter), rng);
      const dyValues = randomArray(sizeOf(info.outShape), rng);
      const tensors = () => ({
        x: tf.tensor4d(xValues, c.x),
        w: tf.tensor4d(wValues, c.filter),
        dy: tf.tensor4d(dyValues, info.outShape),
      });
      const reference = (wrt: 0 | 1) => () => {
        const { x, w, dy } = tensors();
        const forward = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.depthwiseConv2d(x, dilateFilter(w, dilation), c.strides, c.pad);
        return grads4d((x: tf.Tensor4D, w: tf.Tensor4D) => tf.sum(tf.mul(forward(x, w), dy)))([x, w])[wrt];
      };
      const attrs = { strides: c.strides, pad: c.pad, dilations: [dilation, dilation] };
      const filterGrad = () => {
        const { x, dy } = tensors();
        return tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: c.filter }) as tf.Tensor;
      };
      const inputGrad = () => {
        const { w, dy } = tensors();
        return tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: w }, { ...attrs, inputShape: c.x }) as tf.Tensor;
      };
      expectClose(await on('wasm', filterGrad), await on('cpu', reference(1)));
      expectClose(await on('wasm', inputGrad), await on('cpu', reference(0)));
    });

    it.each([
      { x: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
      { x: [1, 10, 9, 2], filter: [3, 2, 2, 3], strides: [1, 1], pad: explicit(2, 1, 0, 3) },
    ] as ConvCase[])('conv2d forward, $x / $filter / $strides / $pad', async (c) => {
      const rng = new Rng(12);
      const xValues = randomArray(sizeOf(c.x), rng);
      const wValues = randomArray(sizeOf(c.filter), rng);
      const ours = () => tf.conv2d(tf.tensor4d(xValues, c.x), tf.tensor4d(wValues, c.filter), c.strides, c.pad, 'NHWC', dilation);
      const reference = () => tf.conv2d(tf.tensor4d(xValues, c.x), dilateFilter(tf.tensor4d(wValues, c.filter), dilation), c.strides, c.pad);
      expectClose(await on('wasm', ours), await on('cpu', reference));
    });
  });

  describe('gradients of a small network through tf.grads', () => {
    it('match between wasm and cpu', async () => {
      const rng = new Rng(5);
      const shapes: Record<string, [number, number, number, number]> = {
        x: [2, 11, 11, 3],
        w1: [3, 3, 3, 8],
        w2: [3, 3, 8, 2],
        w3: [5, 5, 16, 4],
      };
      const values = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomArray(sizeOf(s), rng)]));
      const grads = (index: number) => () => {
        const t = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.tensor4d(values[k], s)]));
        const loss = (x: tf.Tensor4D, w1: tf.Tensor4D, w2: tf.Tensor4D, w3: tf.Tensor4D) => {
          const h1 = tf.relu(tf.conv2d(x, w1, 2, 'same'));
          const h2 = tf.relu(tf.depthwiseConv2d(h1, w2, 1, 'same'));
          return tf.sum(tf.square(tf.conv2d(h2, w3, 1, 'valid')));
        };
        return grads4d(loss)([t.x, t.w1, t.w2, t.w3])[index];
      };
      for (let i = 0; i < 4; i++) expectClose(await on('wasm', grads(i)), await on('cpu', grads(i)));
    });

    it('leave no tensors or buffers behind on wasm', async () => {
      await tf.setBackend('wasm');
      const run = () => {
        const x = tf.randomNormal<tf.Rank.R4>([2, 9, 9, 3], 0, 1, 'float32', 1);
        const w = tf.randomNormal<tf.Rank.R4>([3, 3, 3, 4], 0, 1, 'float32', 2);
        const d = tf.randomNormal<tf.Rank.R4>([3, 3, 4, 1], 0, 1, 'float32', 3);
        const loss = (x: tf.Tensor4D, w: tf.Tensor4D, d: tf.Tensor4D) => {
          const { y } = batchNormTrain(tf.conv2d(x, w, 2, 'same'), tf.ones([4]), tf.zeros([4]), 1e-5);
          return tf.sum(tf.maxPool(tf.depthwiseConv2d(y as tf.Tensor4D, d, 1, 'valid'), 2, 2, 'same'));
        };
        tf.dispose([x, w, d, ...grads4d(loss)([x, w, d])]);
      };
      run();
      const before = tf.memory();
      run();
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
    });
  });
});

describe('relu', () => {
  it('on wasm (native gradient): values and gradient as tf.relu on cpu, zeros and negatives included', async () => {
    const rng = new Rng(8);
    const xValues = randomArray(6 * 7, rng).map((v, i) => (i % 5 === 0 ? 0 : v));
    const weights = randomArray(6 * 7, rng);
    const run = (fn: (x: tf.Tensor) => tf.Tensor) => () => {
      const x = tf.tensor(xValues, [6, 7]);
      const w = tf.tensor(weights, [6, 7]);
      const loss = (x: tf.Tensor) => tf.sum(tf.mul(fn(x), w));
      return tf.concat([fn(x).flatten(), tf.grad(loss)(x).flatten()]);
    };
    expectClose(await on('wasm', run(relu)), await on('cpu', run(tf.relu)));
  });
});

describe('batch norm', () => {
  const cases = [{ shape: [2, 5, 5, 3] }, { shape: [1, 7, 7, 32] }, { shape: [2, 10] }];
  it.each(cases)('training mode on wasm: outputs, statistics and gradients as plain ops on cpu, x $shape', async ({ shape }) => {
    const rng = new Rng(3);
    const channels = shape[shape.length - 1];
    const xValues = randomArray(sizeOf(shape), rng).map((v) => 3 * v + 1);
    const gammaValues = randomArray(channels, rng);
    const betaValues = randomArray(channels, rng);
    const weightValues = randomArray(sizeOf(shape), rng);
    const inputs = () => [tf.tensor(xValues, shape), tf.tensor1d(gammaValues), tf.tensor1d(betaValues)] as const;
    const axes = shape.slice(0, -1).map((_, i) => i);
    const plain = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D) => {
      const { mean, variance } = tf.moments(x, axes);
      return { y: tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta), mean, variance };
    };
    const loss = (norm: typeof plain) => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
      tf.sum(tf.mul(norm(x, gamma as tf.Tensor1D, beta as tf.Tensor1D).y, tf.tensor(weightValues, shape)));
    const ours = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D) => batchNormTrain(x, gamma, beta, 1e-5);
    for (const output of ['y', 'mean', 'variance'] as const) {
      expectClose(await on('wasm', () => ours(...inputs())[output]), await on('cpu', () => plain(...inputs())[output]));
    }
    for (let i = 0; i < 3; i++) {
      const ourGrad = await on('wasm', () => tf.grads(loss(ours))([...inputs()])[i]);
      expectClose(ourGrad, await on('cpu', () => tf.grads(loss(plain))([...inputs()])[i]));
    }
  });

  it('eval mode follows ONNX BatchNormalization', async () => {
    const rng = new Rng(4);
    const shape = [2, 3, 3, 4];
    const xValues = randomArray(sizeOf(shape), rng);
    const params = [0, 1, 2, 3].map(() => randomArray(4, rng));
    params[3] = params[3].map(Math.abs);
    const ours = () => {
      const [gamma, beta, mean, variance] = params.map((p) => tf.tensor1d(p));
      return batchNormEval(tf.tensor(xValues, shape), gamma, beta, mean, variance, 1e-3);
    };
    const expected = xValues.map((v, i) => {
      const c = i % 4;
      return ((v - params[2][c]) / Math.sqrt(params[3][c] + 1e-3)) * params[0][c] + params[1][c];
    });
    expectClose(await on('wasm', ours), { shape, values: expected });
  });
});

/** tf.grad of a function of a 4-D tensor (tfjs types the function as taking a tensor of any rank). */
function grad4d(f: (x: tf.Tensor4D) => tf.Tensor) {
  return tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D));
}

/** tf.grads of a function of 4-D tensors. */
function grads4d(f: (...xs: tf.Tensor4D[]) => tf.Tensor) {
  return tf.grads((...xs: tf.Tensor[]) => f(...(xs as tf.Tensor4D[])));
}
