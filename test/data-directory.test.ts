import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { fitToModelInput, loadDataset, type Dataset } from '../src/data/index.js';
import { parseNpy, readNpy } from '../src/data/npy.js';
import { npyBytes, writeNpy, type TypedArray } from './npy-files.js';

const dir = mkdtempSync(join(tmpdir(), 'otoc-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OtocError);
    return (e as Error).message;
  }
  throw new Error('expected an OtocError');
}

describe('.npy reader', () => {
  it('reads back what it is given, in every supported type and both header versions', async () => {
    const cases: [string, number[], TypedArray][] = [
      ['<f4', [2, 3], Float32Array.from([1.5, -2, 3, 4, 5, 6])],
      ['<f8', [3], Float64Array.from([0.1, 0.2, 0.3])],
      ['|u1', [2, 2, 2], Uint8Array.from([0, 1, 2, 3, 252, 253, 254, 255])],
      ['<i4', [4], Int32Array.from([-1, 0, 1, 2 ** 31 - 1])],
      ['<i8', [2], BigInt64Array.from([3n, -4n])],
      ['<f4', [], Float32Array.from([7])],
    ];
    for (const version of [1, 2] as const) {
      for (const [descr, shape, data] of cases) {
        const path = join(dir, `roundtrip.npy`);
        writeNpy(path, descr, shape, data, { version });
        const read = await readNpy(path);
        expect(read.dtype).toBe(descr);
        expect(read.shape).toEqual(shape);
        expect(read.data).toEqual(data);
      }
    }
  });

  it('says what to change for files it does not read', async () => {
    const data = Float32Array.from([1, 2]);
    expect(failure(() => parseNpy(npyBytes('<f4', [2], data, { fortran: true })))).toMatch(/Fortran-order.*ascontiguousarray/);
    expect(failure(() => parseNpy(npyBytes('>f4', [2], data)))).toMatch(/big-endian.*astype\('<f4'\)/);
    expect(failure(() => parseNpy(npyBytes('<c8', [1], data)))).toMatch(/dtype '<c8' is not supported/);
    expect(failure(() => parseNpy(npyBytes('<f4', [3], data)))).toMatch(/truncated/);
    expect(failure(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])))).toMatch(/not a \.npy file/);
    const path = join(dir, 'bad.npy');
    writeFileSync(path, 'not numpy at all');
    const error = await readNpy(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtocError);
    expect((error as OtocError).file).toBe(path);
  });
});

describe('a data directory', () => {
  it('loads uint8 [N, H, W] images with int64 labels, standardized over the training images', async () => {
    const data = join(dir, 'bytes');
    mkdirSync(data);
    // Six 2×2 images: image i holds the value 10·i everywhere; labels 0, 1, 2, 0, 1, 2.
    writeNpy(join(data, 'train_images.npy'), '|u1', [6, 2, 2], Uint8Array.from({ length: 24 }, (_, i) => 10 * Math.floor(i / 4)));
    writeNpy(join(data, 'train_labels.npy'), '<i8', [6], BigInt64Array.from([0n, 1n, 2n, 0n, 1n, 2n]));
    writeNpy(join(data, 'test_images.npy'), '|u1', [2, 2, 2], Uint8Array.from({ length: 8 }, () => 25));
    writeNpy(join(data, 'test_labels.npy'), '|u1', [2], Uint8Array.from([3, 0]));

    const splits = await loadDataset(data, { valSplit: 1 });
    expect(splits.train.shape).toEqual([1, 2, 2]);
    expect(splits.train.classes).toBe(4);
    // Per class, the last training image goes to validation; each split is class-interleaved.
    expect(Array.from(splits.train.labels)).toEqual([0, 1, 2]);
    expect(Array.from(splits.val!.labels)).toEqual([0, 1, 2]);
    expect(Array.from(splits.test!.labels)).toEqual([0, 3]);
    const mean = 25 / 255;
    const std = Math.sqrt((10 / 255) ** 2 * (0 + 1 + 4 + 9 + 16 + 25) / 6 - mean ** 2);
    const value = (pixel: number) => expect.closeTo((pixel / 255 - mean) / std, 5);
    expect(Array.from(splits.train.images.subarray(0, 4))).toEqual(Array(4).fill(value(0)));
    expect(Array.from(splits.val!.images.subarray(4, 8))).toEqual(Array(4).fill(value(40)));
    expect(Array.from(splits.test!.images.subarray(0, 4))).toEqual(Array(4).fill(value(25)));
  });

  it('uses float32 [N, C, H, W] images as they are, and has no test split without test files', async () => {
    const data = join(dir, 'floats');
    mkdirSync(data);
    const images = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i / 7);
    writeNpy(join(data, 'train_images.npy'), '<f4', [2, 3, 2, 2], images);
    writeNpy(join(data, 'train_labels.npy'), '<i4', [2], Int32Array.from([1, 0]));
    const splits = await loadDataset(data);
    expect(splits.train.shape).toEqual([3, 2, 2]);
    expect(splits.test).toBeUndefined();
    expect(Array.from(splits.train.labels)).toEqual([0, 1]);
    expect(splits.train.images).toEqual(Float32Array.from([...images.subarray(12), ...images.subarray(0, 12)]));
  });

  it('reports missing files, mismatched labels and unknown names', async () => {
    const data = join(dir, 'broken');
    mkdirSync(data);
    writeNpy(join(data, 'train_images.npy'), '|u1', [3, 2, 2], new Uint8Array(12));
    await expect(loadDataset(data)).rejects.toThrow(/missing .*train_labels\.npy/);
    writeNpy(join(data, 'train_labels.npy'), '|u1', [2], new Uint8Array(2));
    await expect(loadDataset(data)).rejects.toThrow(/expected 3 labels/);
    writeNpy(join(data, 'train_labels.npy'), '<f4', [3], new Float32Array(3));
    await expect(loadDataset(data)).rejects.toThrow(/labels must be integers/);
    await expect(loadDataset(join(dir, 'nothing-here'))).rejects.toThrow(/neither a built-in data set .* nor a directory/);
  });

  it('rejects a validation split that leaves a class nothing to train on, and a bad limit', async () => {
    const data = join(dir, 'floats');
    await expect(loadDataset(data, { valSplit: 1 })).rejects.toThrow(/leaving none to train on/);
    await expect(loadDataset(data, { valSplit: 1.5 })).rejects.toThrow(/fraction in \[0, 1\) or a whole count/);
    await expect(loadDataset(data, { limit: 0 })).rejects.toThrow(/limit must be a positive whole number/);
  });
});

describe('fitToModelInput', () => {
  const data: Dataset = { images: new Float32Array(0), labels: new Int32Array(0), shape: [1, 28, 28], classes: 10 };

  it('takes [N, C, H, W] or a flattened [N, C·H·W], with any batch dim', () => {
    expect(fitToModelInput(data, [1, 1, 28, 28])).toEqual([1, 28, 28]);
    expect(fitToModelInput(data, ['batch', 1, 28, 28])).toEqual([1, 28, 28]);
    expect(fitToModelInput(data, [null, 784])).toEqual([784]);
    expect(fitToModelInput(data, [1, 1, 'h', null])).toEqual([1, 28, 28]);
  });

  it('names both shapes when they cannot fit', () => {
    expect(failure(() => fitToModelInput(data, [1, 3, 32, 32]))).toBe(
      'the model input [1, 3, 32, 32] cannot take images of shape [1, 28, 28]: it would need [N, 1, 28, 28] or [N, 784]',
    );
    expect(failure(() => fitToModelInput(data, [1, 28, 28]))).toMatch(/model input \[1, 28, 28\] cannot take/);
  });
});
