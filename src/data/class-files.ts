import type { LabeledPixels, Normalization, Source } from './source.js';
import type { ImageShape } from './types.js';

/** A data set shipped as one file of images per class, label = the file's number. */
export interface ClassFiles {
  name: string;
  shape: ImageShape;
  normalization: Normalization;
  /** Each class's images as bytes, in file order. */
  images: Uint8Array[];
  /** How many of a class's `count` images, the last ones in file order, are test images. */
  testCount: (count: number) => number;
}

/** Train and test parts, each with the classes in label order and each class in file order. */
export function sourceFromClassFiles(files: ClassFiles): Source {
  const imageSize = files.shape.reduce((a, b) => a * b, 1);
  const counts = files.images.map((bytes) => bytes.length / imageSize);
  const testCounts = counts.map(files.testCount);
  const parts = (count: (c: number) => number): LabeledPixels => {
    const total = counts.reduce((sum, _, c) => sum + count(c), 0);
    return { pixels: new Uint8Array(total * imageSize), labels: new Int32Array(total), shape: files.shape };
  };
  const train = parts((c) => counts[c] - testCounts[c]);
  const test = parts((c) => testCounts[c]);
  let trainAt = 0;
  let testAt = 0;
  files.images.forEach((bytes, label) => {
    const trainCount = counts[label] - testCounts[label];
    train.pixels.set(bytes.subarray(0, trainCount * imageSize), trainAt * imageSize);
    train.labels.fill(label, trainAt, trainAt + trainCount);
    test.pixels.set(bytes.subarray(trainCount * imageSize), testAt * imageSize);
    test.labels.fill(label, testAt, testAt + testCounts[label]);
    trainAt += trainCount;
    testAt += testCounts[label];
  });
  return { name: files.name, train, test, classes: files.images.length, normalization: files.normalization };
}
