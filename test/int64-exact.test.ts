/**
 * int64 values survive every stage exactly (issue 26, item 13). PyTorch writes the end of
 * `x[:, :, ::2]` as INT64_MAX, which ResNet-CIFAR's option-A shortcut uses; a JS number cannot
 * hold it, and fold-constants once wrote it back as INT64_MIN (an empty slice). Here the
 * shortcut and the int64 extremes sit in every place an int64 can be stored — raw_data,
 * int64_data, a Constant's tensor (raw and field), value_int, value_ints, an ints attribute
 * (Slice before opset 10), uint64 in raw_data and uint64_data, model_version — and `prune`
 * (folding, cutting, writing) and `verify` must give exact results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model, type Node, type Value } from '../src/ir/graph.js';
import type { NumericArray } from '../src/ir/dtype.js';
import { type Tensor } from '../src/ir/tensor.js';
import { tensorType, type Shape } from '../src/ir/types.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc } from './cli.js';
import { toAttribute, type AttributeValue } from './one-node.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** The extremes, and values just beyond what a JS number holds exactly. */
const EXTREMES = [INT64_MAX, INT64_MIN, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n, -1n];
const UNSIGNED_EXTREMES = [UINT64_MAX, 2n ** 63n, 2n ** 53n + 1n, 0n];

const workDir = mkdtempSync(join(tmpdir(), 'otoc-int64-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A small graph builder: values by name, initializers in the storage asked for, nodes with attributes. */
class Builder {
  readonly graph = new Graph();
  private count = 0;

  input(name: string, type: DataType, shape: Shape): Value {
    const v = this.graph.ensureValue(name);
    v.type = tensorType(type, shape);
    this.graph.inputs.push(v);
    return v;
  }

  initializer(name: string, type: DataType, dims: number[], data: NumericArray, storage: 'raw' | 'field' = 'raw'): Value {
    const v = this.graph.ensureValue(name);
    this.graph.addInitializer(v, { name, dataType: type, dims, data, storage: { kind: storage } });
    return v;
  }

  floats(name: string, dims: number[], seed: number): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.initializer(name, DataType.FLOAT, dims, Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97 + i) / 2));
  }

  node(op: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}, outputs = 1): Value[] {
    const outs = Array.from({ length: outputs }, () => this.graph.ensureValue(`${op.toLowerCase()}_${this.count++}`));
    const node: Node = this.graph.addNode(op, inputs, outs);
    node.name = outs[0].name;
    for (const [name, value] of Object.entries(attributes)) node.attributes.set(name, toAttribute(name, value));
    return outs;
  }

  /** A Constant node holding `tensor` (raw or field storage). */
  constant(tensor: Omit<Tensor, 'name'>): Value {
    return this.node('Constant', [], { value: { tensor } })[0];
  }

  model(opset: number, outputs: Value[]): Model {
    this.graph.outputs.push(...outputs);
    const model = new Model(this.graph);
    model.irVersion = 8;
    model.opsetImports = [{ domain: '', version: opset }];
    return model;
  }
}

const int64s = (values: bigint[], storage: 'raw' | 'field' = 'raw'): Omit<Tensor, 'name'> => ({
  dataType: DataType.INT64,
  dims: [values.length],
  data: BigInt64Array.from(values),
  storage: { kind: storage },
});

/**
 * The option-A shortcut of ResNet-CIFAR as PyTorch exports it: `F.pad(x[:, :, ::2, ::2], ...)`
 * beside a strided conv block, added and classified. The slice bounds are 1-element Constant
 * nodes (INT64_MAX ends), one of them value_ints; beside it, Concat joins int64 and uint64
 * inputs with the extremes stored in each way, so the model's outputs show them.
 */
function optionAModel(): Model {
  const b = new Builder();
  const x = b.input('x', DataType.FLOAT, [1, 4, 8, 8]);
  const [h] = b.node('Conv', [x, b.floats('w1', [8, 4, 3, 3], 1)], { strides: [2, 2], pads: [1, 1, 1, 1] });
  const [r] = b.node('Relu', [h]);
  const [main] = b.node('Conv', [r, b.floats('w2', [8, 8, 3, 3], 2)], { pads: [1, 1, 1, 1] });

  const one = (v: bigint, storage: 'raw' | 'field' = 'raw') => b.constant(int64s([v], storage));
  const [rows] = b.node('Slice', [x, one(0n), one(INT64_MAX), one(2n), one(2n, 'field')]);
  const endInts = b.node('Constant', [], { value_ints: [INT64_MAX] })[0];
  const [cols] = b.node('Slice', [rows, b.initializer('start0', DataType.INT64, [1], BigInt64Array.of(0n), 'field'), endInts, one(3n), one(2n)]);
  const pads = b.constant(int64s([0n, 2n, 0n, 0n, 0n, 2n, 0n, 0n]));
  const [shortcut] = b.node('Pad', [cols, pads]);
  const [sum] = b.node('Add', [main, shortcut]);
  const [act] = b.node('Relu', [sum]);
  const [pooled] = b.node('GlobalAveragePool', [act]);
  const [flat] = b.node('Flatten', [pooled]);
  const [y] = b.node('Gemm', [flat, b.floats('fc', [3, 8], 3), b.floats('fc_b', [3], 4)], { transB: 1 });

  const k = b.input('k', DataType.INT64, [2]);
  const stored = [
    b.initializer('ext_raw', DataType.INT64, [EXTREMES.length], BigInt64Array.from(EXTREMES), 'raw'),
    b.initializer('ext_field', DataType.INT64, [EXTREMES.length], BigInt64Array.from(EXTREMES), 'field'),
    b.constant(int64s(EXTREMES, 'raw')),
    b.constant(int64s(EXTREMES, 'field')),
    b.node('Constant', [], { value_ints: EXTREMES })[0],
    b.node('Unsqueeze', [b.node('Constant', [], { value_int: INT64_MIN })[0], one(0n)])[0],
  ];
  const [ints] = b.node('Concat', [k, ...stored], { axis: 0 });
  const ku = b.input('ku', DataType.UINT64, [2]);
  const unsigned = (storage: 'raw' | 'field') =>
    b.initializer(`uext_${storage}`, DataType.UINT64, [UNSIGNED_EXTREMES.length], BigUint64Array.from(UNSIGNED_EXTREMES), storage);
  const [uints] = b.node('Concat', [ku, unsigned('raw'), unsigned('field')], { axis: 0 });
  const model = b.model(13, [y, ints, uints]);
  model.modelVersion = INT64_MIN;
  return model;
}

/** Before opset 10 Slice takes its bounds as ints attributes: a channel slice with INT64_MIN/INT64_MAX on the other axis. */
function sliceAttributesModel(): Model {
  const b = new Builder();
  const x = b.input('x', DataType.FLOAT, [1, 4, 6, 6]);
  const [h] = b.node('Conv', [x, b.floats('w1', [8, 4, 3, 3], 5)]);
  const [s] = b.node('Slice', [h], { axes: [1, 2], starts: [0, INT64_MIN], ends: [INT64_MAX, INT64_MAX] });
  const [r] = b.node('Relu', [s]);
  const [y] = b.node('Conv', [r, b.floats('w2', [3, 8, 1, 1], 6)]);
  const model = b.model(9, [y]);
  model.modelVersion = INT64_MAX;
  return model;
}

function write(model: Model, name: string): string {
  const path = join(workDir, name);
  writeModel(model, path);
  return path;
}

function run(...args: string[]): string {
  const r = otoc(...args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** Every int64 (uint64) value of every initializer and int attribute of the main graph, by initializer or node name. */
function int64Values(model: Model): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (const v of model.graph.initializers) {
    const data = v.constant!.data;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) out.set(v.name, [...data]);
  }
  for (const node of model.graph.nodes) {
    for (const [name, attr] of node.attributes) {
      if (attr.type === 'ints') out.set(`${node.name}.${name}`, attr.value);
      if (attr.type === 'tensor' && attr.value.data instanceof BigInt64Array) out.set(`${node.name}.${name}`, [...attr.value.data]);
    }
  }
  return out;
}

const includesSequence = (values: Iterable<bigint[]>, wanted: bigint[]) =>
  [...values].filter((list) => list.length === wanted.length && list.every((v, i) => v === wanted[i])).length;

describe('int64 values stay exact through prune and verify', () => {
  it('ResNet-CIFAR option-A shortcut (Slice end INT64_MAX) and the int64 extremes in every storage: prune keeps them exactly', () => {
    const path = write(optionAModel(), 'option-a.onnx');
    const folded = join(workDir, 'option-a-folded.onnx');
    // Nothing is zero: prune only folds the constants and writes the model back.
    run('prune', path, '-o', folded);
    expect(run('verify', path, folded, '--random', '3')).toMatch(/equivalent/);

    const full = join(workDir, 'option-a-full.onnx');
    const small = join(workDir, 'option-a-small.onnx');
    run('prune', path, '--random-zero', '0.5', '--seed', '1', '--emit-full', full, '-o', small);
    expect(run('verify', full, small, '--random', '3')).toMatch(/equivalent/);

    for (const file of [folded, small]) {
      const model = readModel(file);
      const values = int64Values(model);
      // The Slice ends, folded from Constant nodes into initializers, are still INT64_MAX.
      const ends = model.graph.nodes.filter((n) => n.opType === 'Slice').map((n) => n.inputs[2]!.constant?.data);
      expect(ends.map((d) => d && [...(d as BigInt64Array)])).toEqual([[INT64_MAX], [INT64_MAX]]);
      // Five int64 copies of the extremes (raw, field, Constant raw, Constant field, value_ints) and value_int's INT64_MIN.
      expect(includesSequence(values.values(), EXTREMES)).toBe(5);
      expect(includesSequence(values.values(), [INT64_MIN])).toBeGreaterThanOrEqual(1);
      expect(includesSequence(values.values(), UNSIGNED_EXTREMES)).toBe(2);
      expect(model.modelVersion).toBe(INT64_MIN);
    }
  });

  it('a Slice with ints attributes (opset 9): pruning its channel axis keeps the other axis bounds INT64_MIN/INT64_MAX exactly', () => {
    const path = write(sliceAttributesModel(), 'slice-attributes.onnx');
    const full = join(workDir, 'slice-attributes-full.onnx');
    const small = join(workDir, 'slice-attributes-small.onnx');
    const summary = JSON.parse(run('prune', path, '--random-zero', '0.5', '--seed', '2', '--emit-full', full, '-o', small, '--json'));
    expect(summary.removedGroups).toBeGreaterThan(0);
    expect(run('verify', full, small, '--random', '3')).toMatch(/equivalent/);

    const model = readModel(small);
    const slice = model.graph.nodes.find((n) => n.opType === 'Slice')!;
    const kept = model.graph.nodes[0].inputs[1]!.constant!.dims[0];
    const attr = (name: string) => (slice.attributes.get(name) as { value: bigint[] }).value;
    expect(attr('starts')).toEqual([0n, INT64_MIN]);
    expect(attr('ends')).toEqual([BigInt(kept), INT64_MAX]);
    expect(model.modelVersion).toBe(INT64_MAX);
  });
});
