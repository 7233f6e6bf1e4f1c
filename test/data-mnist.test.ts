import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset, sampleCount } from '../src/data/index.js';

const DIGITS = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
const IMAGE = 784;

function digitFile(digit: number): number[] {
  return JSON.parse(readFileSync(join(DIGITS, `${digit}.json`), 'utf8')).data;
}

describe('MNIST', () => {
  it('splits each digit in file order: the last ⌊n/5⌋ are test', async () => {
    const data = await loadDataset('mnist');
    expect(sampleCount(data.train)).toBe(8004);
    expect(data.test && sampleCount(data.test)).toBe(1996);
    expect(data.train.shape).toEqual([1, 28, 28]);
    expect(data.train.classes).toBe(10);

    const seven = digitFile(7);
    const count = seven.length / IMAGE;
    const testCount = Math.floor(count / 5);
    const normalize = (values: number[]) => values.map((v) => Math.fround((Math.round(v * 255) / 255 - 0.1307) / 0.3081));
    const nthOf = (labels: Int32Array, n: number) => Array.from(labels.keys()).filter((i) => labels[i] === 7)[n];
    const trainIndex = nthOf(data.train.labels, 0);
    expect(Array.from(data.train.images.subarray(trainIndex * IMAGE, (trainIndex + 1) * IMAGE))).toEqual(
      normalize(seven.slice(0, IMAGE)).map((v) => expect.closeTo(v, 5)),
    );
    const testIndex = data.test ? nthOf(data.test.labels, 0) : -1;
    const firstTest = (count - testCount) * IMAGE;
    expect(Array.from(data.test!.images.subarray(testIndex * IMAGE, (testIndex + 1) * IMAGE))).toEqual(
      normalize(seven.slice(firstTest, firstTest + IMAGE)).map((v) => expect.closeTo(v, 5)),
    );
  });
});
