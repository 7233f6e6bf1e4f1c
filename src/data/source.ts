import type { Dataset, ImageShape } from './types.js';

/** Images as decoded from their files, before normalization, one after another in file order. */
export interface LabeledPixels {
  /** N × C·H·W values: bytes 0 … 255, or floats used as they are. */
  pixels: Uint8Array | Float32Array;
  labels: Int32Array;
  shape: ImageShape;
}

/** value = (pixel · scale − mean[c]) / std[c] for channel c. */
export interface Normalization {
  scale: number;
  mean: number[];
  std: number[];
}

/** A data set as its files give it: a training part, maybe a test part, and how to normalize both. */
export interface Source {
  name: string;
  train: LabeledPixels;
  test?: LabeledPixels;
  classes: number;
  normalization: Normalization;
}

/** The images at `indices`, in that order, normalized. */
export function gather(
  from: LabeledPixels,
  indices: readonly number[],
  normalization: Normalization,
  classes: number,
): Dataset {
  const [channels, height, width] = from.shape;
  const plane = height * width;
  const sampleSize = channels * plane;
  const images = new Float32Array(indices.length * sampleSize);
  const labels = new Int32Array(indices.length);
  const factor = normalization.mean.map((_, c) => normalization.scale / normalization.std[c]);
  const offset = normalization.mean.map((mean, c) => -mean / normalization.std[c]);
  indices.forEach((index, i) => {
    labels[i] = from.labels[index];
    for (let c = 0; c < channels; c++) {
      const source = index * sampleSize + c * plane;
      const target = i * sampleSize + c * plane;
      for (let p = 0; p < plane; p++) images[target + p] = from.pixels[source + p] * factor[c] + offset[c];
    }
  });
  return { images, labels, shape: from.shape, classes };
}
