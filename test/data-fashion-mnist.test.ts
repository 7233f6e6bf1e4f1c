import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, sampleCount, type DataSplits, type Dataset } from '../src/data/index.js';

const CLOTHES = join(dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json')), 'src', 'clothes');
const IMAGE = 784;

/** A class file's non-empty entries, read the plain way. */
function classEntries(label: number): number[][] {
  const rows = JSON.parse(readFileSync(join(CLOTHES, `${label}.json`), 'utf8')).data as number[][];
  return rows.filter((row) => row.length > 0);
}

function normalized(pixels: number[]): number[] {
  return pixels.map((v) => Math.fround((v / 255 - 0.286) / 0.353));
}

/** The `n`th image of class `label` in `data` (negative: from the end), as numbers. */
function imageOfClass(data: Dataset | undefined, label: number, n: number): number[] {
  const indices = Array.from(data?.labels ?? [], (l, i) => (l === label ? i : -1)).filter((i) => i >= 0);
  const index = indices.at(n);
  if (index === undefined) throw new Error(`no image ${n} of class ${label}`);
  return Array.from(data!.images.subarray(index * IMAGE, (index + 1) * IMAGE));
}

function countsPerClass(data: Dataset): number[] {
  const counts = Array<number>(data.classes).fill(0);
  for (const label of data.labels) counts[label]++;
  return counts;
}

let full: DataSplits;
let withVal: DataSplits;
let loadMs: number;

beforeAll(async () => {
  const start = performance.now();
  full = await loadDataset('fashion-mnist');
  loadMs = performance.now() - start;
  withVal = await loadDataset('fashion-mnist', { valSplit: 0.1 });
});

describe('Fashion-MNIST', () => {
  it('loads in seconds', () => {
    console.log(`Fashion-MNIST loaded in ${(loadMs / 1000).toFixed(2)} s`);
    expect(loadMs).toBeLessThan(30_000);
  });

  it('has 60,000 train and 10,000 test images, 7,000 per class', () => {
    expect(sampleCount(full.train)).toBe(60_000);
    expect(full.test && sampleCount(full.test)).toBe(10_000);
    expect(full.val).toBeUndefined();
    expect(countsPerClass(full.train)).toEqual(Array(10).fill(6000));
    expect(full.test && countsPerClass(full.test)).toEqual(Array(10).fill(1000));
    expect(full.train.shape).toEqual([1, 28, 28]);
    expect(full.train.images.length).toBe(60_000 * IMAGE);
  });

  it('splits each class in file order: first 6,000 train, last 1,000 test, val from the end of train', () => {
    for (const label of [0, 3]) {
      const entries = classEntries(label).map(normalized);
      expect(entries.length).toBe(7000);
      expect(imageOfClass(full.train, label, 0)).toEqual(entries[0]);
      expect(imageOfClass(full.train, label, -1)).toEqual(entries[5999]);
      expect(imageOfClass(full.test, label, 0)).toEqual(entries[6000]);
      expect(imageOfClass(full.test, label, -1)).toEqual(entries[6999]);
      expect(withVal.val && countsPerClass(withVal.val)[label]).toBe(600);
      expect(imageOfClass(withVal.val, label, 0)).toEqual(entries[5400]);
      expect(imageOfClass(withVal.train, label, -1)).toEqual(entries[5399]);
    }
  });

  it('interleaves the classes, so a limit keeps every class equally', async () => {
    expect(Array.from(full.train.labels.subarray(0, 20))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const limited = await loadDataset('fashion-mnist', { limit: 2000, valSplit: 50 });
    expect(countsPerClass(limited.train)).toEqual(Array(10).fill(200));
    expect(limited.val && countsPerClass(limited.val)).toEqual(Array(10).fill(50));
    expect(limited.train.images.subarray(0, IMAGE)).toEqual(full.train.images.subarray(0, IMAGE));
  });

  it('normalizes the training images to mean ≈ 0 and std ≈ 1', () => {
    const { images } = full.train;
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < images.length; i++) {
      sum += images[i];
      squares += images[i] * images[i];
    }
    const mean = sum / images.length;
    const std = Math.sqrt(squares / images.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });
});
