import { describe, expect, it } from 'vitest';
import { batches, imageSamples, type Dataset } from '../src/data/index.js';

/** Ten 1×2×2 images whose pixels all equal their index. */
const DATA: Dataset = {
  images: Float32Array.from({ length: 40 }, (_, i) => Math.floor(i / 4)),
  labels: Int32Array.from({ length: 10 }, (_, i) => i % 3),
  shape: [1, 2, 2],
  classes: 3,
};

function order(options: Parameters<typeof batches>[2], batchSize = 4): number[][] {
  return Array.from(batches(imageSamples(DATA, 'images'), batchSize, options), (batch) => {
    const [images] = batch.inputs.map((t) => t.data);
    const labels = batch.labels!;
    const indices = Array.from({ length: labels.length }, (_, i) => images[i * 4]);
    labels.forEach((label, i) => expect(label).toBe(indices[i] % 3));
    expect(images.length).toBe(indices.length * 4);
    return indices;
  });
}

describe('batches', () => {
  it('follow the data order without a seed', () => {
    expect(order({})).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(order({ dropLast: true })).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  it('shuffle by seed and epoch, the same way every time, each image once', () => {
    const first = order({ seed: 7, epoch: 0 });
    expect(order({ seed: 7, epoch: 0 })).toEqual(first);
    expect(first.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.flat()).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(order({ seed: 7, epoch: 1 })).not.toEqual(first);
    expect(order({ seed: 8, epoch: 0 })).not.toEqual(first);
  });

  it('refuse a batch size that is not a positive integer', () => {
    expect(() => order({}, 0)).toThrow(/batch size/);
  });
});
