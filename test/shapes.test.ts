import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferShapes, type ShapeAnalysis } from '../passes/infer-shapes.js';
import { setAttributes } from '../src/ir/build.js';
import { DataType, dataTypeName } from '../src/ir/dtype.js';
import { Graph, Model, type Value } from '../src/ir/graph.js';
import { makeTensor, type Tensor } from '../src/ir/tensor.js';
import { formatShape, tensorType } from '../src/ir/types.js';
import { readModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { isStaticShape } from '../src/ops/shape-math.js';
import type { ValueFacts } from '../src/ops/spec.js';
import { opSpec } from '../src/ops/table.js';
import { createSession, readTestFeeds, readTestTensors, runSession } from '../src/runtime/ort.js';
import { TESTDATA, corpusManifest, corpusModel, corpusTestSet } from './paths.js';

/** Every value computed by a node of the main graph. */
function nodeOutputs(model: Model): Value[] {
  return model.graph.nodes.flatMap((n) => n.outputs.filter((v): v is Value => v !== null));
}

/** Why an inferred fact disagrees with a tensor onnxruntime (or ONNX's reference) computed, or null. */
function disagreement(f: ValueFacts | undefined, actual: Tensor): string | null {
  if (!f) return 'nothing inferred';
  if (f.elemType !== actual.dataType) return `type ${dataTypeName(f.elemType)}, actual ${dataTypeName(actual.dataType)}`;
  if (!isStaticShape(f.shape)) return null;
  if (f.shape.join() !== actual.dims.join()) return `shape ${formatShape(f.shape)}, actual ${formatShape(actual.dims)}`;
  if (f.value && !Array.isArray(actual.data)) {
    const data = Array.from(actual.data as ArrayLike<number | bigint>, Number);
    const close = (x: unknown, k: number) =>
      x === data[k] || (typeof x === 'number' && Math.abs(x - data[k]) <= 1e-6 * Math.abs(data[k]));
    if (!f.value.every(close)) return `folded value [${f.value.slice(0, 8)}], actual [${data.slice(0, 8)}]`;
  }
  return null;
}

/** Make every node output a graph output of `model`, typed with its inferred element type, so onnxruntime returns it. */
function exposeAll(model: Model, facts: ShapeAnalysis): Value[] {
  const values = nodeOutputs(model);
  for (const v of values) {
    if (model.graph.outputs.includes(v)) continue;
    v.type = tensorType(facts.get(v)!.elemType);
    model.graph.outputs.push(v);
  }
  return model.graph.outputs;
}

describe('shape inference on the corpus, checked against onnxruntime', () => {
  it.each(corpusManifest().map((e) => e.name))('%s', async (name) => {
    const model = readModel(corpusModel(name));
    const facts = inferShapes(model);

    const notStatic = nodeOutputs(model)
      .filter((v) => !isStaticShape(facts.get(v)?.shape))
      .map((v) => `${v.name}: ${formatShape(facts.get(v)?.shape)}`);
    expect(notStatic, 'values without a fully static inferred shape').toEqual([]);

    const outputs = exposeAll(model, facts);
    const session = await createSession(encodeModel(model).model, { threads: 1 });
    try {
      const results = await runSession(session, readTestFeeds(corpusTestSet(name), session.inputNames));
      const wrong = outputs
        .map((v, i) => ({ name: v.name, why: disagreement(facts.get(v), results[i]) }))
        .filter((d) => d.why !== null);
      expect(wrong).toEqual([]);
    } finally {
      await session.release();
    }
  });
});

/**
 * PyTorch's export of `x.view(x.size(0), -1) @ w` with a dynamic batch: the batch size reaches
 * Reshape through Shape → Gather → Unsqueeze → Concat.
 */
function dynamicBatchFlatten(): Model {
  const graph = new Graph();
  const value = (name: string) => graph.ensureValue(name);
  const constant = (name: string, type: DataType, dims: number[], data: Float32Array | BigInt64Array) => {
    const v = value(name);
    graph.addInitializer(v, makeTensor(name, type, dims, data));
    return v;
  };
  const x = value('x');
  x.type = tensorType(DataType.FLOAT, ['batch', 3, 4, 4]);
  graph.inputs.push(x);
  graph.addNode('Shape', [x], [value('shape')]);
  graph.addNode('Gather', [value('shape'), constant('zero', DataType.INT64, [], BigInt64Array.of(0n))], [value('batch')]);
  graph.addNode('Unsqueeze', [value('batch'), constant('axes', DataType.INT64, [1], BigInt64Array.of(0n))], [value('batch1')]);
  const rest = constant('rest', DataType.INT64, [1], BigInt64Array.of(-1n));
  setAttributes(graph.addNode('Concat', [value('batch1'), rest], [value('target')]), { axis: 0 });
  graph.addNode('Reshape', [x, value('target')], [value('flat')]);
  const w = constant('w', DataType.FLOAT, [48, 5], new Float32Array(240).fill(0.5));
  graph.addNode('MatMul', [value('flat'), w], [value('y')]);
  graph.outputs.push(value('y'));
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

describe('shape inference with a symbolic batch dim', () => {
  it('carries the dim through shape arithmetic, as onnxruntime computes it for a concrete batch', async () => {
    const model = dynamicBatchFlatten();
    const facts = inferShapes(model);
    const shapeOf = (name: string) => facts.get(model.graph.lookup(name)!)?.shape;
    expect(facts.get(model.graph.lookup('target')!)?.value).toEqual(['batch', -1]);
    expect(shapeOf('flat')).toEqual(['batch', 48]);
    expect(shapeOf('y')).toEqual(['batch', 5]);

    const session = await createSession(encodeModel(model).model, { threads: 1 });
    try {
      const [y] = await runSession(session, { x: makeTensor('x', DataType.FLOAT, [2, 3, 4, 4], new Float32Array(96)) });
      expect(y.dims).toEqual([2, 5]);
    } finally {
      await session.release();
    }
  });
});

/**
 * Known ways the stored outputs of ONNX's conformance tests differ from what the op
 * computes: bfloat16 outputs are stored with data type UINT16.
 */
function storedTypeQuirk(f: ValueFacts | undefined, stored: Tensor): boolean {
  return f?.elemType === DataType.BFLOAT16 && stored.dataType === DataType.UINT16;
}

describe('shape inference on the ONNX node conformance tests', () => {
  it('infers the stored output shapes of every test whose ops are all in the table', () => {
    const root = join(TESTDATA, 'node');
    let inTable = 0;
    let compared = 0;
    let unknown = 0;
    const wrong: string[] = [];
    for (const test of readdirSync(root).sort()) {
      const dataSet = join(root, test, 'test_data_set_0');
      if (!existsSync(dataSet)) continue;
      const model = readModel(join(root, test, 'model.onnx'));
      if (!model.graph.nodes.every((n) => opSpec(n.opType, n.domain) && n.subgraphs().length === 0)) continue;
      // Outputs of sequence or optional type are stored as other protos than TensorProto.
      if (!model.graph.outputs.every((v) => v.type?.kind === 'tensor')) continue;
      inTable++;
      const facts = inferShapes(model);
      const stored = readTestTensors(dataSet, 'output');
      model.graph.outputs.forEach((v, i) => {
        const f = facts.get(v);
        // Unknown is allowed (e.g. a Reshape whose target shape is a graph input); wrong is not.
        if (!isStaticShape(f?.shape)) return unknown++;
        compared++;
        const why = storedTypeQuirk(f, stored[i]) ? null : disagreement(f, stored[i]);
        if (why) wrong.push(`${test} ${v.name}: ${why}`);
      });
    }
    console.log(
      `node conformance tests with every op in the table: ${inTable}; outputs compared: ${compared}, ` +
        `agreeing: ${compared - wrong.length}; outputs left unknown: ${unknown}`,
    );
    expect(wrong).toEqual([]);
    expect(compared).toBeGreaterThan(600);
  });
});
