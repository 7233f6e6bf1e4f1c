/** Channels, height and width of one image. */
export type ImageShape = [number, number, number];

/** Labeled images ready to train on: normalized float32, NCHW, one image after another. */
export interface Dataset {
  /** N × C × H × W values. */
  images: Float32Array;
  /** N labels in 0 … classes − 1. */
  labels: Int32Array;
  shape: ImageShape;
  classes: number;
}

/** A data set's splits. `val` exists when a validation split was asked for, `test` when the data has one. */
export interface DataSplits {
  name: string;
  train: Dataset;
  val?: Dataset;
  test?: Dataset;
}

export interface LoadOptions {
  /**
   * Validation images taken from the end of each class's training part (file order): a fraction
   * in [0, 1) of each class, or a whole count per class. 0 or absent: no validation split.
   */
  valSplit?: number;
  /** Keep only the first `limit` training images (in the class-interleaved order; see splits.ts). */
  limit?: number;
}

export function sampleCount(data: Dataset): number {
  return data.labels.length;
}
