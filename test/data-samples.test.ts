/** Sample inputs for --data: the ONNX test-data layout, a samples directory, random:N, and their errors. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSamples, type Samples } from '../src/data/index.js';
import { OtocError } from '../src/errors.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { TensorProto } from '../src/onnx/schema.js';
import { sampleFeeds } from '../src/runtime/evaluate.js';
import { writeNpy } from './npy-files.js';
import { OpModel } from './tiny-models.js';

const root = mkdtempSync(join(tmpdir(), 'otoc-samples-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => {
  const dir = join(root, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** Three inputs: `a` float [N, 4], `b:0` float [N, 2, 3] (a name no file can have), `ids` int64 [1, 3] (the file fixes the batch to 1). */
function threeInputs(): Model {
  const m = new OpModel(13);
  const a = m.input('a', ['N', 4]);
  const b = m.input('b:0', ['N', 2, 3]);
  const ids = m.input('ids', [1, 3], DataType.INT64);
  return m.finish(m.node('Relu', [a]), m.node('Relu', [b]), m.node('Identity', [ids]));
}

/** A TensorProto file as ONNX test data holds one. */
function writePb(path: string, dataType: DataType, dims: number[], data: Float32Array | BigInt64Array): void {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  writeFileSync(path, TensorProto.encode({ dims, data_type: dataType, raw_data: raw, name: '' }).finish());
}

const floats = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);

/** The error `load` fails with: an OtocError of one line. */
async function failure(load: () => Promise<unknown>): Promise<string> {
  try {
    await load();
  } catch (e) {
    expect(e).toBeInstanceOf(OtocError);
    const text = `${(e as OtocError).file ?? ''}: ${(e as Error).message}`;
    expect(text).not.toMatch(/\n/);
    return text;
  }
  throw new Error('expected an OtocError');
}

function values(samples: Samples, input: string): number[] {
  return Array.from(samples.inputs.find((t) => t.name === input)!.data);
}

describe('the ONNX test-data layout', () => {
  /** Three sets: the first a batch of 2 samples, the others one each. */
  function testData(): string {
    const dir = freshDir();
    [2, 1, 1].forEach((count, k) => {
      const set = join(dir, `test_data_set_${k}`);
      mkdirSync(set);
      writePb(join(set, 'input_0.pb'), DataType.FLOAT, [count, 4], floats(4 * count, 100 * k));
      writePb(join(set, 'input_1.pb'), DataType.FLOAT, [count, 2, 3], floats(6 * count, 100 * k));
      writePb(join(set, 'input_2.pb'), DataType.INT64, [count, 3], BigInt64Array.from({ length: 3 * count }, (_, i) => BigInt(k * 10 + i)));
    });
    return dir;
  }

  it('joins the sets along the samples axis, in set order, input i feeding model input i', async () => {
    const data = await loadSamples(testData(), threeInputs(), { valSplit: 0 });
    expect(data.train.count).toBe(4);
    expect(data.val).toBeUndefined();
    expect(data.train.labels).toBeUndefined();
    expect(values(data.train, 'a')).toEqual([...floats(8), ...floats(4, 100), ...floats(4, 200)]);
    expect(data.train.inputs.map((t) => [t.name, t.sampleDims])).toEqual([['a', [4]], ['b:0', [2, 3]], ['ids', [3]]]);
    expect(values(data.train, 'ids')).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 20, 21, 22]);
  });

  it('keeps an int64 input as int32 for training and feeds onnxruntime int64', async () => {
    const data = await loadSamples(testData(), threeInputs(), { valSplit: 0 });
    const ids = data.train.inputs.find((t) => t.name === 'ids')!;
    expect(ids.data).toBeInstanceOf(Int32Array);
    expect(ids.dataType).toBe(DataType.INT64);
    const feeds = sampleFeeds(data.train);
    expect(feeds.ids.dataType).toBe(DataType.INT64);
    expect(feeds.ids.dims).toEqual([4, 3]);
    expect(Array.from(feeds.ids.data as BigInt64Array, Number)).toEqual(values(data.train, 'ids'));
    expect(feeds.a.data).toBeInstanceOf(Float32Array);
  });

  it('takes one set given as the directory itself, and splits off the last samples for validation', async () => {
    const data = await loadSamples(join(testData(), 'test_data_set_0'), threeInputs(), { valSplit: 0.5 });
    expect([data.train.count, data.val?.count]).toEqual([1, 1]);
    expect(values(data.val!, 'a')).toEqual([4, 5, 6, 7]);
  });

  it('refuses sets that do not fit the model, naming the file, the input and both shapes', async () => {
    const dir = testData();
    writePb(join(dir, 'test_data_set_1', 'input_0.pb'), DataType.FLOAT, [1, 5], floats(5));
    expect(await failure(() => loadSamples(dir, threeInputs()))).toMatch(/test_data_set_1\/input_0\.pb holds float32 \[1, 5\], .*test_data_set_0\/input_0\.pb float32 \[2, 4\]: the samples of one input must share a type and a shape/);
    writePb(join(dir, 'test_data_set_1', 'input_0.pb'), DataType.FLOAT, [1, 4], floats(4));
    writePb(join(dir, 'test_data_set_0', 'input_0.pb'), DataType.FLOAT, [2, 5], floats(10));
    writePb(join(dir, 'test_data_set_1', 'input_0.pb'), DataType.FLOAT, [1, 5], floats(5));
    writePb(join(dir, 'test_data_set_2', 'input_0.pb'), DataType.FLOAT, [1, 5], floats(5));
    expect(await failure(() => loadSamples(dir, threeInputs()))).toMatch(/the model input 'a' is \[N, 4\] \(any batch N\); .*input_0\.pb holds \[4, 5\]$/);
    rmSync(join(dir, 'test_data_set_2', 'input_2.pb'));
    expect(await failure(() => loadSamples(dir, threeInputs()))).toMatch(/test_data_set_2: holds 2 input tensors \(input_<i>\.pb\); the model takes 3: 'a', 'b:0', 'ids'$/);
  });
});

describe('a samples directory', () => {
  /** 10 samples: a.npy float64, b.npy mapped to 'b:0' by inputs.json, ids.npy int64, and `labels` if given. */
  function samplesDir(labels?: number[]): string {
    const dir = freshDir();
    writeNpy(join(dir, 'a.npy'), '<f8', [10, 4], Float64Array.from({ length: 40 }, (_, i) => i / 4));
    writeNpy(join(dir, 'b.npy'), '<f4', [10, 2, 3], floats(60));
    writeNpy(join(dir, 'ids.npy'), '<i8', [10, 3], BigInt64Array.from({ length: 30 }, (_, i) => BigInt(i)));
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify({ 'b.npy': 'b:0' }));
    if (labels) writeNpy(join(dir, 'labels.npy'), '<i8', [labels.length], BigInt64Array.from(labels.map(BigInt)));
    return dir;
  }

  it('reads one .npy per input (names mapped by inputs.json), any dtype, the last samples for validation', async () => {
    const data = await loadSamples(samplesDir(), threeInputs(), { valSplit: 0.2, limit: 3 });
    expect([data.train.count, data.val?.count]).toEqual([3, 2]);
    expect(values(data.train, 'a').slice(0, 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(data.train.inputs.find((t) => t.name === 'a')!.data).toBeInstanceOf(Float32Array);
    expect(values(data.val!, 'ids')).toEqual([24, 25, 26, 27, 28, 29]);
    expect(values(data.train, 'b:0').length).toBe(18);
  });

  it('takes labels.npy as classifier labels, the validation split per class', async () => {
    const data = await loadSamples(samplesDir([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), threeInputs(), { valSplit: 1 });
    expect(data.train.classes).toBe(2);
    expect(Array.from(data.val!.labels!)).toEqual([0, 1]);
    expect(values(data.val!, 'ids')).toEqual([24, 25, 26, 27, 28, 29]);
    expect(Array.from(data.train.labels!)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('refuses what does not fit, in one line', async () => {
    const wrongShape = samplesDir();
    writeNpy(join(wrongShape, 'a.npy'), '<f4', [10, 5], floats(50));
    expect(await failure(() => loadSamples(wrongShape, threeInputs()))).toMatch(/: the model input 'a' is \[N, 4\] \(any batch N\); .*a\.npy holds \[10, 5\]$/);
    const wrongType = samplesDir();
    writeNpy(join(wrongType, 'ids.npy'), '<f4', [10, 3], floats(30));
    expect(await failure(() => loadSamples(wrongType, threeInputs()))).toMatch(/the model input 'ids' takes int64 values; .*ids\.npy holds float32$/);
    const missing = samplesDir();
    rmSync(join(missing, 'a.npy'));
    expect(await failure(() => loadSamples(missing, threeInputs()))).toMatch(/the data has no values for the model input 'a' \(inputs: 'a', 'b:0', 'ids'\)$/);
    const unmapped = samplesDir();
    rmSync(join(unmapped, 'inputs.json'));
    expect(await failure(() => loadSamples(unmapped, threeInputs()))).toMatch(/b\.npy feeds 'b', which is not a model input .*map them in inputs\.json\)$/);
    const uneven = samplesDir();
    writeNpy(join(uneven, 'a.npy'), '<f4', [9, 4], floats(36));
    expect(await failure(() => loadSamples(uneven, threeInputs()))).toMatch(/b\.npy holds 10 samples, .*a\.npy 9: every input needs a value per sample$/);
    const huge = samplesDir();
    writeNpy(join(huge, 'ids.npy'), '<i8', [10, 3], BigInt64Array.from({ length: 30 }, (_, i) => (i === 7 ? 2n ** 40n : 0n)));
    expect(await failure(() => loadSamples(huge, threeInputs()))).toMatch(/ids\.npy holds 1099511627776, outside the int32 range/);
    const badLabels = samplesDir();
    writeNpy(join(badLabels, 'labels.npy'), '<f4', [10], floats(10));
    expect(await failure(() => loadSamples(badLabels, threeInputs()))).toMatch(/labels\.npy: labels must be integers, found <f4/);
    expect(await failure(() => loadSamples(samplesDir([0, 1]), threeInputs()))).toMatch(/the data has 2 labels for 10 samples/);
  });

  it('refuses an input whose first axis is not a batch, and a directory of nothing it reads', async () => {
    const m = new OpModel(13);
    const model = m.finish(m.node('Relu', [m.input('x', [3, 4])]));
    const dir = freshDir();
    writeNpy(join(dir, 'x.npy'), '<f4', [3, 4], floats(12));
    expect(await failure(() => loadSamples(dir, model))).toMatch(/the model input 'x' is \[3, 4\]: otoc trains on inputs whose first axis is the batch \(symbolic, or 1\)$/);
    const empty = freshDir();
    writeFileSync(join(empty, 'notes.txt'), '');
    expect(await failure(() => loadSamples(empty, model))).toMatch(/holds no data otoc reads: train_images\.npy .*test_data_set_\*\/input_<i>\.pb, or a \.npy per model input$/);
  });
});

describe('random:N', () => {
  /** An image input with symbolic height and width, and an int64 input. */
  function symbolic(): Model {
    const m = new OpModel(13);
    return m.finish(m.node('Relu', [m.input('images', ['N', 3, 'H', 'W'])]), m.node('Identity', [m.input('ids', ['N', 2], DataType.INT64)]));
  }

  it('draws N samples per input, the same every time, with --shape for the symbolic dims', async () => {
    const shapes = new Map([['images', [1, 3, 5, 6]]]);
    const data = await loadSamples('random:20', symbolic(), { valSplit: 0.1, shapes });
    expect([data.train.count, data.val?.count]).toEqual([18, 2]);
    expect(data.train.inputs.map((t) => t.sampleDims)).toEqual([[3, 5, 6], [2]]);
    expect(values(data.train, 'ids').every((v) => Number.isInteger(v) && v >= 0 && v < 4)).toBe(true);
    const again = await loadSamples('random:20', symbolic(), { valSplit: 0.1, shapes });
    expect(values(again.train, 'images')).toEqual(values(data.train, 'images'));
    const images = values(data.train, 'images');
    const mean = images.reduce((a, b) => a + b, 0) / images.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
  });

  it('asks for --shape when a dim is symbolic, and for a positive count', async () => {
    expect(await failure(() => loadSamples('random:20', symbolic()))).toMatch(
      /the model input 'images' is \[N, 3, H, W\]: random:N needs the sizes of its symbolic dims, e\.g\. --shape images=1x3x…x…$/,
    );
    expect(await failure(() => loadSamples('random:0', symbolic()))).toMatch(/random:N needs a positive whole number of samples, got 'random:0'/);
  });
});
