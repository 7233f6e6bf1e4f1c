/** Model.clone(): a deep copy, and where each value and node went. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZOO } from '../models/zoo.js';
import { diffModels } from '../src/ir/compare.js';
import { nodeReads, type Model } from '../src/ir/graph.js';
import { decodeModel, readModel } from '../src/onnx/read.js';
import { ModelProto } from '../src/onnx/schema.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { inferShapes } from '../passes/infer-shapes.js';
import { applyPruning, planForClone, planPruning } from '../passes/prune-groups.js';
import { zeroGroupVectors } from '../passes/select-groups.js';
import { randomZero } from '../src/pipeline/prune.js';
import { corpusManifest, corpusModel, TESTDATA } from './paths.js';
import { modelsUnder } from './roundtrip-check.js';

const bytesOf = (m: Model) => Buffer.from(encodeModel(m).model);

/** Whether two lists hold the same objects (toEqual would walk the IR's cycles). */
const sameItems = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function expectSameModel(original: Model, copy: Model): void {
  expect(diffModels(original, copy)).toBeNull();
  expect(bytesOf(copy).equals(bytesOf(original))).toBe(true);
}

describe('a clone encodes to the same bytes as its original', () => {
  it.each(corpusManifest().map((e) => e.name))('corpus %s', (name) => {
    const model = readModel(corpusModel(name));
    expectSameModel(model, model.clone().model);
  });

  it('every model of the ONNX conformance tests (subgraphs and outer-scope reads included)', () => {
    const models = modelsUnder(TESTDATA);
    expect(models.length).toBeGreaterThan(1000);
    let read = 0;
    for (const { dir } of models) {
      let model: Model;
      try {
        model = readModel(join(dir, 'model.onnx'));
      } catch {
        continue; // what otoc refuses to read is the reader's tests' business
      }
      read++;
      expectSameModel(model, model.clone().model);
    }
    expect(read).toBeGreaterThan(1000);
  });

  it('model-local functions and training info, with their 64-bit integers', () => {
    const bytes = ModelProto.encode({
      ir_version: 8,
      opset_import: [{ domain: '', version: 13 }, { domain: 'local', version: 1 }],
      graph: { name: 'g', node: [{ op_type: 'Twice', domain: 'local', input: ['x'], output: ['y'] }] },
      functions: [
        {
          name: 'Twice',
          domain: 'local',
          input: ['a'],
          output: ['b'],
          opset_import: [{ domain: '', version: 13 }],
          node: [{ op_type: 'Add', input: ['a', 'a'], output: ['b'], attribute: [{ name: 'big', type: 2, i: '9007199254740993' }] }],
        },
      ],
      training_info: [{ algorithm: { name: 'step', node: [{ op_type: 'Identity', input: ['y'], output: ['z'] }] } }],
    }).finish();
    const model = decodeModel(bytes);
    const copy = model.clone().model;
    expectSameModel(model, copy);
    expect(copy.functions[0] !== model.functions[0]).toBe(true);
  });
});

describe('a clone shares nothing with its original', () => {
  const model = () => ZOO.find((e) => e.name === 'resnet')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });

  it('changing its tensors, attributes, values and nodes leaves the original as it was', () => {
    const original = model();
    const before = bytesOf(original);
    const { model: copy } = original.clone();
    for (const v of copy.graph.initializers) (v.constant!.data as Float32Array).fill(7);
    copy.graph.initializers[0].constant!.dims[0] = 99;
    const conv = copy.graph.nodes.find((n) => n.opType === 'Conv')!;
    const pads = conv.attributes.get('pads')!;
    if (pads.type === 'ints') pads.value[0] = 5n;
    conv.attributes.delete('strides');
    conv.name = 'renamed';
    copy.graph.inputs[0].type = undefined;
    copy.graph.rename(copy.graph.outputs[0], 'logits');
    copy.graph.removeNode(copy.graph.nodes[copy.graph.nodes.length - 1]);
    copy.opsetImports[0].version = 1;
    expect(bytesOf(original).equals(before)).toBe(true);
  });

  it('changing the original leaves the clone as it was', () => {
    const original = model();
    const { model: copy } = original.clone();
    const before = bytesOf(copy);
    for (const v of original.graph.initializers) (v.constant!.data as Float32Array).fill(0);
    original.graph.removeNode(original.graph.nodes[0]);
    expect(bytesOf(copy).equals(before)).toBe(true);
  });

  it('copies tensors that are views of the file they were read from', () => {
    const original = readModel(corpusModel('fmnist_resnet'));
    const { model: copy, values } = original.clone();
    for (const v of original.graph.initializers) {
      const data = values.get(v)!.constant!.data;
      expect(ArrayBuffer.isView(data) && ArrayBuffer.isView(v.constant!.data) && data.buffer !== v.constant!.data.buffer).toBe(true);
    }
    expect(copy.graph.initializers.length).toBeGreaterThan(0);
  });
});

describe('the value and node maps', () => {
  it('map every value and node to its copy, links included', () => {
    const original = readModel(corpusModel('resnet18'));
    const { model: copy, values, nodes } = original.clone();
    expect(nodes.size).toBe(original.graph.nodes.length);
    original.graph.nodes.forEach((n, i) => {
      const c = nodes.get(n)!;
      expect(c === copy.graph.nodes[i] && c !== n && c.graph === copy.graph).toBe(true);
      expect(sameItems(c.inputs, n.inputs.map((v) => v && values.get(v)))).toBe(true);
      expect(sameItems(c.outputs, n.outputs.map((v) => v && values.get(v)))).toBe(true);
    });
    for (const v of original.graph.allValues()) {
      const c = values.get(v)!;
      expect(c.name).toBe(v.name);
      expect(copy.graph.lookup(v.name) === c).toBe(true);
      expect(c.producer === (v.producer && nodes.get(v.producer))).toBe(true);
      expect(sameItems(c.consumers, v.consumers.map((n) => nodes.get(n)))).toBe(true);
    }
  });

  it('map a subgraph’s reads of an enclosing graph to the copy’s enclosing values', () => {
    const dir = join(TESTDATA, 'node', 'test_range_float_type_positive_delta_expanded');
    if (!existsSync(dir)) throw new Error(`${dir} is missing: install libonnx-testdata`);
    const original = readModel(join(dir, 'model.onnx'));
    const { model: copy, values, nodes } = original.clone();
    const loop = original.graph.nodes.find((n) => n.opType === 'Loop')!;
    const outer = nodeReads(loop).filter((v) => !loop.inputs.includes(v));
    expect(outer.map((v) => v.name)).toEqual(['delta']);
    const copied = nodeReads(nodes.get(loop)!).filter((v) => !nodes.get(loop)!.inputs.includes(v));
    expect(sameItems(copied, outer.map((v) => values.get(v)))).toBe(true);
    expect(copied[0].graph === copy.graph).toBe(true);
    const body = nodes.get(loop)!.subgraphs()[0];
    expect(body.parent === copy.graph && body !== loop.subgraphs()[0]).toBe(true);
    expect(loop.subgraphs()[0].nodes.every((n) => nodes.get(n)!.graph === body)).toBe(true);
  });

  it('lead an analysis of the clone to the same groups, through the value map', () => {
    const original = readModel(corpusModel('densenet121'));
    const a = analyzeModel(original).groups;
    const { model: copy, values } = original.clone();
    const b = analyzeModel(copy).groups;
    expect(b.zigs.length).toBe(a.zigs.length);
    a.zigs.forEach((z, i) => {
      const where = (list: typeof z.slices) => list.map((s) => [s.axis, s.index]);
      expect(sameItems(b.zigs[i].slices.map((s) => s.param), z.slices.map((s) => values.get(s.param)))).toBe(true);
      expect(where(b.zigs[i].slices)).toEqual(where(z.slices));
      expect(b.zigs[i].reasons).toEqual(z.reasons);
    });
  });
});

describe('a prune plan carried to a clone through the value map', () => {
  it.each(['concat_case', 'transformer_block', 'lstm_small', 'groupconv', 'unet_small'])(
    '%s: prunes the clone as it prunes the original, and leaves the original as it was',
    (name) => {
      const zeroed = () => {
        const model = readModel(corpusModel(name));
        const { groups } = analyzeModel(model);
        const ids = randomZero(0.5, 3)(groups);
        zeroGroupVectors(groups, ids);
        return { model, groups, ids };
      };
      const { model: original, groups, ids } = zeroed();
      expect(ids.length).toBeGreaterThan(0);
      const before = bytesOf(original);
      const { model: copy, values } = original.clone();
      applyPruning(copy, inferShapes(copy), planForClone(planPruning(groups, ids), values));
      expect(bytesOf(original).equals(before)).toBe(true);

      const reference = zeroed();
      applyPruning(reference.model, inferShapes(reference.model), planPruning(reference.groups, reference.ids));
      expect(bytesOf(copy).equals(bytesOf(reference.model))).toBe(true);
      expect(bytesOf(copy).length).toBeLessThan(before.length);
    },
  );
});
