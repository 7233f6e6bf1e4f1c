import { describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model } from '../src/ir/graph.js';
import type { Tensor } from '../src/ir/tensor.js';
import { Shape, TypeInfo, tensorType } from '../src/ir/types.js';
import { parseShapeOverrides } from '../src/ir/input-shapes.js';
import { InputSource, inputSets } from '../src/runtime/inputs.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { encodeModel } from '../src/onnx/write.js';
import { corpusModel, corpusTestSet } from './paths.js';
import { readModel } from '../src/onnx/read.js';

/** A model whose inputs have the given types, each passed through Identity to an output. */
function modelWithInputs(types: Record<string, TypeInfo | undefined>): Model {
  const graph = new Graph();
  for (const [name, type] of Object.entries(types)) {
    const input = graph.ensureValue(name);
    input.type = type;
    graph.inputs.push(input);
    const output = graph.ensureValue(`${name}_out`);
    graph.outputs.push(output);
    graph.addNode('Identity', [input], [output]);
  }
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

const random = (count: number, seed: number, shapes: string[] = []): InputSource => ({
  kind: 'random',
  count,
  seed,
  shapes: parseShapeOverrides(shapes),
});

const setsOf = (model: Model, source: InputSource) =>
  inputSets(source, model, model.graph.inputs.map((v) => v.name));

describe('input sets', () => {
  const shape: Shape = ['batch', 3, null];
  const model = modelWithInputs({
    image: tensorType(DataType.FLOAT, shape),
    ids: tensorType(DataType.INT64, [2, 5]),
    mask: tensorType(DataType.BOOL, [4]),
    half: tensorType(DataType.FLOAT16, [3]),
  });

  it('makes seeded random tensors: symbolic and unknown dims are 1, floats normal, ints small, bools 0/1', () => {
    const sets = setsOf(model, random(2, 7));
    expect(sets).toHaveLength(2);
    const { image, ids, mask, half } = sets[0];
    expect(image.dims).toEqual([1, 3, 1]);
    expect(image.data).toBeInstanceOf(Float32Array);
    expect(ids.data).toBeInstanceOf(BigInt64Array);
    expect([...(ids.data as BigInt64Array)].every((v) => v >= 0n && v < 4n)).toBe(true);
    expect([...(mask.data as Uint8Array)].every((v) => v === 0 || v === 1)).toBe(true);
    expect(half.data).toBeInstanceOf(Uint16Array);
    expect(sets[1].image.data).not.toEqual(image.data);

    const again = setsOf(model, random(2, 7));
    expect(again).toEqual(sets);
    expect(setsOf(model, random(2, 8))[0].image.data).not.toEqual(image.data);
  });

  it('draws floats from N(0, 1)', () => {
    const big = modelWithInputs({ x: tensorType(DataType.FLOAT, [20000]) });
    const values = setsOf(big, random(1, 3))[0].x.data as Float32Array;
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('takes shapes from --shape, checked against the declared ones', () => {
    expect(setsOf(model, random(1, 0, ['image=2x3x7']))[0].image.dims).toEqual([2, 3, 7]);
    expect(() => setsOf(model, random(1, 0, ['image=2x4x7']))).toThrow(
      "--shape image=2x4x7 does not fit the declared shape [batch, 3, ?]",
    );
    expect(() => setsOf(model, random(1, 0, ['image=2x3']))).toThrow(/does not fit/);
    expect(() => setsOf(model, random(1, 0, ['other=1']))).toThrow(
      "--shape names 'other', which is not a model input (inputs: image, ids, mask, half)",
    );
    expect(parseShapeOverrides(['scalar='])).toEqual(new Map([['scalar', []]]));
    expect(() => parseShapeOverrides(['x=1x', 'x=2'])).toThrow(/--shape expects name=/);
    expect(() => parseShapeOverrides(['x=1', 'x=2'])).toThrow("--shape gives input 'x' twice");
  });

  it('explains inputs it cannot make values for', () => {
    const cases: [TypeInfo | undefined, string][] = [
      [undefined, "input 'x' has no declared type, so otoc cannot make random values for it"],
      [{ kind: 'sequence' }, "input 'x' is a sequence, and otoc can only make random tensors"],
      [tensorType(DataType.STRING, [1]), "input 'x' has data type string, for which otoc cannot make random values"],
      [tensorType(DataType.BFLOAT16, [1]), "input 'x' has data type bfloat16, for which otoc cannot make random values"],
      [tensorType(DataType.FLOAT), "input 'x' has no declared shape: give one with --shape x=<dims, e.g. 1x3x32x32>"],
    ];
    for (const [type, message] of cases) {
      expect(() => setsOf(modelWithInputs({ x: type }), random(1, 0))).toThrow(message);
    }
  });

  it('feeds onnxruntime every data type it makes', async () => {
    const session = await createSession(encodeModel(model).model);
    const [feeds] = setsOf(model, random(1, 1));
    const outputs = await runSession(session, feeds);
    await session.release();
    const byName = Object.fromEntries(outputs.map((t: Tensor) => [t.name, t]));
    for (const name of ['image', 'ids', 'mask', 'half']) expect(byName[`${name}_out`].data).toEqual(feeds[name].data);
  });

  it('reads ONNX test data by position', () => {
    const corpus = readModel(corpusModel('concat_case'));
    const [feeds] = inputSets({ kind: 'test-data', dir: corpusTestSet('concat_case') }, corpus, ['input']);
    expect(feeds.input.dims).toEqual([1, 3, 32, 32]);
  });
});
