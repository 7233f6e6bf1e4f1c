import { float, GraphBuilder, type Attributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Node, Value } from '../src/ir/graph.js';
import { tensorType } from '../src/ir/types.js';
import { Rng } from '../src/util/random.js';

/** Batch dimension of built models: symbolic, so any batch size runs. */
export const BATCH = 'N';

export interface ConvOptions {
  out: number;
  kernel?: number;
  stride?: number;
  /** Zero padding on every side; default keeps the spatial size at stride 1. */
  pad?: number;
  group?: number;
  bias?: boolean;
}

/**
 * Builds NCHW image classifiers as ONNX IR (opset 13), the way PyTorch's exporter lays them
 * out, with PyTorch's default initializations drawn from a seeded PRNG.
 */
export class NetBuilder {
  private readonly b = new GraphBuilder();
  private readonly rng: Rng;
  /** Per-sample shape [C, H, W] or [F] of every value built so far. */
  private readonly shapes = new Map<Value, number[]>();
  private readonly counts = new Map<string, number>();

  constructor(name: string, inputShape: number[], seed: number) {
    this.b.graph.name = name;
    this.rng = new Rng(seed);
    this.shapes.set(this.b.input('input', DataType.FLOAT, [BATCH, ...inputShape]), inputShape);
  }

  get input(): Value {
    return this.b.graph.inputs[0];
  }

  shape(x: Value): number[] {
    const s = this.shapes.get(x);
    if (!s) throw new Error(`no shape recorded for '${x.name}'`);
    return s;
  }

  conv(x: Value, o: ConvOptions): Value {
    const [cin, h, w] = this.shape(x);
    const k = o.kernel ?? 3;
    const stride = o.stride ?? 1;
    const pad = o.pad ?? Math.floor(k / 2);
    const group = o.group ?? 1;
    const name = this.fresh('conv');
    const fanIn = (cin / group) * k * k;
    // PyTorch's Conv2d default: kaiming_uniform(a=√5), i.e. U(±1/√fan_in) for weight and bias.
    const bound = 1 / Math.sqrt(fanIn);
    const weight = this.param(`${name}.weight`, [o.out, cin / group, k, k], () => this.rng.uniform(-bound, bound));
    const inputs = [x, weight];
    if (o.bias) inputs.push(this.param(`${name}.bias`, [o.out], () => this.rng.uniform(-bound, bound)));
    const node = this.node('Conv', name, inputs, {
      dilations: [1, 1],
      group,
      kernel_shape: [k, k],
      pads: [pad, pad, pad, pad],
      strides: [stride, stride],
    });
    const size = (n: number) => Math.floor((n + 2 * pad - k) / stride) + 1;
    return this.result(node, [o.out, size(h), size(w)]);
  }

  batchNorm(x: Value): Value {
    const c = this.shape(x)[0];
    const name = this.fresh('bn');
    const params = [
      this.param(`${name}.weight`, [c], () => 1),
      this.param(`${name}.bias`, [c], () => 0),
      this.param(`${name}.running_mean`, [c], () => 0),
      this.param(`${name}.running_var`, [c], () => 1),
    ];
    const node = this.node('BatchNormalization', name, [x, ...params], { epsilon: float(1e-5), momentum: float(0.9) });
    return this.result(node, this.shape(x));
  }

  relu(x: Value): Value {
    return this.result(this.node('Relu', this.fresh('relu'), [x]), this.shape(x));
  }

  add(a: Value, b: Value): Value {
    return this.result(this.node('Add', this.fresh('add'), [a, b]), this.shape(a));
  }

  maxPool(x: Value, size = 2): Value {
    const [c, h, w] = this.shape(x);
    const node = this.node('MaxPool', this.fresh('maxpool'), [x], { kernel_shape: [size, size], strides: [size, size] });
    return this.result(node, [c, Math.floor(h / size), Math.floor(w / size)]);
  }

  /** GlobalAveragePool followed by Flatten: [C, H, W] → [C]. */
  globalPool(x: Value): Value {
    const c = this.shape(x)[0];
    const pooled = this.result(this.node('GlobalAveragePool', this.fresh('gap'), [x]), [c, 1, 1]);
    const flat = this.node('Flatten', this.fresh('flatten'), [pooled], { axis: 1 });
    return this.result(flat, [c]);
  }

  /** Fully connected layer as Gemm with transB = 1, like nn.Linear. */
  linear(x: Value, out: number): Value {
    const [inF] = this.shape(x);
    const name = this.fresh('fc');
    const bound = 1 / Math.sqrt(inF);
    const weight = this.param(`${name}.weight`, [out, inF], () => this.rng.uniform(-bound, bound));
    const bias = this.param(`${name}.bias`, [out], () => this.rng.uniform(-bound, bound));
    const node = this.node('Gemm', name, [x, weight, bias], { alpha: float(1), beta: float(1), transB: 1 });
    return this.result(node, [out]);
  }

  /** Mark `x` as the model's output (renamed to `output`) and return the finished model. */
  finish(x: Value): Model {
    this.b.output(x, 'output').type = tensorType(DataType.FLOAT, [BATCH, ...this.shape(x)]);
    return this.b.model(13, { irVersion: 8, producerName: 'otoc' });
  }

  private param(name: string, dims: number[], init: () => number): Value {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = init();
    return this.b.constant(DataType.FLOAT, dims, data, name);
  }

  private node(opType: string, name: string, inputs: Value[], attributes: Attributes = {}): Node {
    return this.b.node(opType, inputs, { name, outputs: [`${name}_out`], attributes });
  }

  private result(node: Node, shape: number[]): Value {
    const out = node.outputs[0]!;
    this.shapes.set(out, shape);
    return out;
  }

  private fresh(kind: string): string {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    return `${kind}${n}`;
  }
}
