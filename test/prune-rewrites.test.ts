/**
 * The prune rewrites that no corpus model reaches: Split and Slice on pruned channels, in their
 * attribute form (before opsets 13 and 10) and their input form. Each model is built, random
 * groups are zeroed and removed, the rewritten op is checked, and onnxruntime runs the full and
 * the small model on the same inputs.
 */
import { describe, expect, it } from 'vitest';
import { attrInts } from '../src/ir/attributes.js';
import { GraphBuilder } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Node, Value } from '../src/ir/graph.js';
import { intValues } from '../src/ir/tensor.js';
import { findProblems } from '../src/ir/validate.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel, randomZero } from '../src/pipeline/prune.js';
import { Rng } from '../src/util/random.js';
import { compareOutputs } from '../src/runtime/compare-outputs.js';
import { inputSets } from '../src/runtime/inputs.js';
import { createSession, runSession } from '../src/runtime/ort.js';

/** Convolutions with random weights on x [N, 3, 8, 8]; the model's output keeps its channels. */
class Net {
  readonly b = new GraphBuilder();
  private readonly rng = new Rng(5);
  readonly x = this.b.input('x', DataType.FLOAT, ['N', 3, 8, 8]);

  conv(x: Value, cin: number, out: number): Value {
    const weight = Float32Array.from({ length: out * cin * 9 }, () => this.rng.uniform(-0.5, 0.5));
    const bias = Float32Array.from({ length: out }, () => this.rng.uniform(-0.5, 0.5));
    const w = this.b.constant(DataType.FLOAT, [out, cin, 3, 3], weight);
    return this.b.op('Relu', [this.b.op('Conv', [x, w, this.b.constant(DataType.FLOAT, [out], bias)], { pads: [1, 1, 1, 1] })]);
  }

  finish(y: Value, opset: number): Model {
    this.b.output(y, 'y').type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 4 }, { value: 8 }, { value: 8 }] };
    return this.b.model(opset);
  }
}

/** conv(8) → Split [3, 5] on channels → a conv on each part → Add. */
function splitNet(opset: number): Model {
  const n = new Net();
  const wide = n.conv(n.x, 3, 8);
  const outputs = ['part0', 'part1'];
  const split =
    opset < 13
      ? n.b.node('Split', [wide], { attributes: { axis: 1, split: [3, 5] }, outputs })
      : n.b.node('Split', [wide, n.b.int64s([3, 5])], { attributes: { axis: 1 }, outputs });
  const [a, b] = split.outputs as Value[];
  return n.finish(n.b.op('Add', [n.conv(a, 3, 4), n.conv(b, 5, 4)]), opset);
}

/** conv(8) → Slice of channels [2, 7) → conv. */
function sliceNet(opset: number): Model {
  const n = new Net();
  const wide = n.conv(n.x, 3, 8);
  const sliced =
    opset < 10
      ? n.b.op('Slice', [wide], { starts: [2], ends: [7], axes: [1] })
      : n.b.op('Slice', [wide, n.b.int64s([2]), n.b.int64s([7]), n.b.int64s([1])]);
  return n.finish(n.conv(sliced, 5, 4), opset);
}

const opOf = (model: Model, opType: string): Node => model.graph.nodes.find((node) => node.opType === opType)!;
const sizesOfSplit = (model: Model, opset: number) => {
  const split = opOf(model, 'Split');
  return opset < 13 ? attrInts(split, 'split')! : intValues(split.input(1)!.constant!);
};
const boundsOfSlice = (model: Model, opset: number) => {
  const slice = opOf(model, 'Slice');
  return opset < 10 ? [attrInts(slice, 'starts')!, attrInts(slice, 'ends')!] : [1, 2].map((i) => intValues(slice.input(i)!.constant!));
};

async function expectEquivalent(full: Uint8Array, small: Model): Promise<void> {
  const [a, b] = [await createSession(full), await createSession(encodeModel(small).model)];
  for (const feeds of inputSets({ kind: 'random', count: 4, seed: 7, shapes: new Map() }, decodeModel(full), a.inputNames)) {
    const [ya, yb] = [await runSession(a, feeds), await runSession(b, feeds)];
    const c = compareOutputs(ya[0], yb[0], { atol: 0, rtol: 0 });
    expect(c.nonFiniteMismatches).toBe(0);
    expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, c.maxAbsReference));
  }
}

describe.each([11, 13])('Split on pruned channels, opset %i', (opset) => {
  it.each([0, 1, 2])('seed %i: the sizes become the kept counts, and the small model is equivalent', async (seed) => {
    const model = splitNet(opset);
    expect(sizesOfSplit(model, opset)).toEqual([3, 5]);
    const outcome = pruneModel(analyzeModel(model), { zero: randomZero(0.5, seed) });
    expect(outcome.removedGroups).toBeGreaterThan(0);
    const sizes = sizesOfSplit(outcome.small, opset);
    const kept = (outcome.small.graph.nodes.filter((node) => node.opType === 'Conv')[0].input(1)!.constant!.dims[0]);
    expect(sizes.reduce((s, x) => s + x, 0)).toBe(kept);
    expect(kept).toBeLessThan(8);
    expect(findProblems(outcome.small)).toEqual([]);
    await expectEquivalent(outcome.full, outcome.small);
  });
});

describe.each([9, 13])('Slice on pruned channels, opset %i', (opset) => {
  it.each([0, 1, 2])('seed %i: the bounds move to the kept channels, and the small model is equivalent', async (seed) => {
    const model = sliceNet(opset);
    expect(boundsOfSlice(model, opset)).toEqual([[2], [7]]);
    const outcome = pruneModel(analyzeModel(model), { zero: randomZero(0.5, seed) });
    expect(outcome.removedGroups).toBeGreaterThan(0);
    const [[start], [end]] = boundsOfSlice(outcome.small, opset);
    const convs = outcome.small.graph.nodes.filter((node) => node.opType === 'Conv');
    expect(end - start).toBe(convs[1].input(1)!.constant!.dims[1]);
    expect(end).toBeLessThanOrEqual(convs[0].input(1)!.constant!.dims[0]);
    expect(findProblems(outcome.small)).toEqual([]);
    await expectEquivalent(outcome.full, outcome.small);
  });
});
