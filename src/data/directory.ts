import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import { readNpy, type NpyArray } from './npy.js';
import type { LabeledPixels, Normalization, Source } from './source.js';
import type { ImageShape } from './types.js';

/*
 * A user's data set as a directory of .npy files:
 *   train_images.npy  float32, float64 or uint8, shape [N, C, H, W] or [N, H, W] (one channel)
 *   train_labels.npy  an integer type, shape [N], values 0 … classes − 1
 *   test_images.npy, test_labels.npy  optional, both or neither, images of the same [C, H, W]
 * Float images are used as they are (normalize them beforehand). uint8 images are scaled to
 * [0, 1], then standardized per channel with the mean and std of all training images.
 * classes = 1 + the largest label.
 */

export async function directorySource(dir: string): Promise<Source> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new OtocError(`'${dir}' is neither a built-in data set (fashion-mnist, mnist) nor a directory`);
  }
  const train = await readPart(dir, 'train');
  const hasTest = existsSync(join(dir, 'test_images.npy')) || existsSync(join(dir, 'test_labels.npy'));
  const test = hasTest ? await readPart(dir, 'test') : undefined;
  if (test && test.shape.join() !== train.shape.join()) {
    throw new OtocError(`test images are [${test.shape.join(', ')}] each, train images [${train.shape.join(', ')}]`, dir);
  }
  if (train.labels.length === 0) throw new OtocError('train_images.npy holds no images', dir);
  const classes = 1 + [train, test].reduce((max, part) => (part ? part.labels.reduce((a, b) => Math.max(a, b), max) : max), 0);
  return { name: dir, train, test, classes, normalization: normalizationOf(train) };
}

async function readPart(dir: string, part: 'train' | 'test'): Promise<LabeledPixels> {
  const imagesFile = join(dir, `${part}_images.npy`);
  const labelsFile = join(dir, `${part}_labels.npy`);
  for (const file of [imagesFile, labelsFile]) if (!existsSync(file)) throw new OtocError(`missing ${file}`, dir);
  const images = await readNpy(imagesFile);
  const labels = await readNpy(labelsFile);
  const shape = imageShape(images, imagesFile);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) {
    const found = `[${labels.shape.join(', ')}]`;
    throw new OtocError(`expected ${images.shape[0]} labels (shape [${images.shape[0]}]), found shape ${found}`, labelsFile);
  }
  return { pixels: pixelsOf(images, imagesFile), labels: labelsOf(labels, labelsFile), shape };
}

function imageShape(images: NpyArray, file: string): ImageShape {
  const [, ...dims] = images.shape;
  if (dims.length === 2) return [1, dims[0], dims[1]];
  if (dims.length === 3) return [dims[0], dims[1], dims[2]];
  throw new OtocError(`images must be [N, C, H, W] or [N, H, W], found [${images.shape.join(', ')}]`, file);
}

function pixelsOf(images: NpyArray, file: string): Uint8Array | Float32Array {
  if (images.data instanceof Uint8Array || images.data instanceof Float32Array) return images.data;
  if (images.data instanceof Float64Array) return Float32Array.from(images.data);
  throw new OtocError(`images must be float32, float64 or uint8, found ${images.dtype}`, file);
}

/** Class labels as int32; an OtocError for non-integer labels or labels out of 0 … 2³¹ − 1. */
export function labelsOf(labels: NpyArray, file: string): Int32Array {
  if (['<f2', '<f4', '<f8', '|b1'].includes(labels.dtype)) {
    throw new OtocError(`labels must be integers, found ${labels.dtype}`, file);
  }
  const values = Array.from(labels.data, Number);
  const bad = values.findIndex((v) => !(v >= 0 && v < 2 ** 31));
  if (bad >= 0) throw new OtocError(`label ${bad} is ${values[bad]}; labels must be 0 … classes − 1`, file);
  return Int32Array.from(values);
}

/** Float images as they are; bytes scaled to [0, 1] and standardized per channel over the training images. */
function normalizationOf(train: LabeledPixels): Normalization {
  const [channels, height, width] = train.shape;
  if (train.pixels instanceof Float32Array) return { scale: 1, mean: Array(channels).fill(0), std: Array(channels).fill(1) };
  const plane = height * width;
  const count = train.labels.length * plane;
  const sums = Array.from({ length: channels }, () => ({ sum: 0, squares: 0 }));
  for (let i = 0; i < train.pixels.length; i++) {
    const channel = sums[Math.floor(i / plane) % channels];
    const value = train.pixels[i] / 255;
    channel.sum += value;
    channel.squares += value * value;
  }
  const mean = sums.map((s) => s.sum / count);
  const std = sums.map((s, c) => Math.sqrt(Math.max(s.squares / count - mean[c] ** 2, 0)) || 1);
  return { scale: 1 / 255, mean, std };
}
