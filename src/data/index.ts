import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { NO_OVERRIDES, type ShapeOverrides } from '../ir/input-shapes.js';
import { directorySource } from './directory.js';
import { fashionMnist } from './fashion-mnist.js';
import { modelImageSamples } from './fit.js';
import { mnist } from './mnist.js';
import { fitModelInputs } from './model-inputs.js';
import { randomCount, randomInputArrays } from './random-samples.js';
import type { Samples } from './samples.js';
import { npyFiles, readSamplesDirectory } from './samples-directory.js';
import type { Source } from './source.js';
import { splitSamples, splitSource } from './splits.js';
import { readTestDataSets, testDataSets } from './test-data-sets.js';
import type { DataSplits, LoadOptions } from './types.js';

export {
  batches,
  copySamples,
  gatherSamples,
  imageSamples,
  sampleBuffers,
  sampleSize,
  sliceSamples,
  spreadSamples,
  type Batch,
  type BatchOptions,
  type SampleData,
  type SampleTensor,
  type Samples,
} from './samples.js';
export { fitToModelInput, modelImageSamples } from './fit.js';
export { fedInputs, fitModelInputs, type InputArray } from './model-inputs.js';
export { sampleCount, type DataSplits, type Dataset, type ImageShape, type LoadOptions } from './types.js';

/** `fashion-mnist`, `mnist`, or a directory in the format of directory.ts, split as splits.ts describes. */
export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<DataSplits> {
  return splitSource(await sourceOf(spec), options);
}

function sourceOf(spec: string): Promise<Source> {
  if (spec === 'fashion-mnist') return fashionMnist();
  if (spec === 'mnist') return mnist();
  return directorySource(spec);
}

/** A data set as samples of a model's inputs, split. */
export interface SampleSplits {
  name: string;
  train: Samples;
  val?: Samples;
  test?: Samples;
}

export interface SampleLoadOptions extends LoadOptions {
  /** Sizes of symbolic input dims, for random:N (--shape). */
  shapes?: ShapeOverrides;
}

/**
 * `spec` as samples of `model`'s inputs: a labeled image set (fashion-mnist, mnist, a directory
 * with train_images.npy), `random:N`, a directory in the ONNX test-data layout
 * (test_data_set_<k>/input_<i>.pb), or a samples directory (one .npy per model input). An
 * OtocError names the data that does not fit the model.
 */
export async function loadSamples(spec: string, model: Model, options: SampleLoadOptions = {}): Promise<SampleSplits> {
  const count = randomCount(spec);
  if (count !== undefined) return { name: spec, ...splitSamples(fitModelInputs(model, randomInputArrays(model, count, options.shapes ?? NO_OVERRIDES)), options) };
  if (isBuiltIn(spec) || existsSync(join(spec, 'train_images.npy'))) {
    const data = await loadDataset(spec, options);
    const samplesOf = (split: DataSplits['train'] | undefined) => split && modelImageSamples(model, split);
    return { name: data.name, train: samplesOf(data.train)!, val: samplesOf(data.val), test: samplesOf(data.test) };
  }
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new OtocError(`'${spec}' is neither a built-in data set (fashion-mnist, mnist), random:N, nor a directory`);
  }
  try {
    const sets = testDataSets(spec);
    if (sets.length) return { name: spec, ...splitSamples(fitModelInputs(model, readTestDataSets(sets, model)), options) };
    if (npyFiles(spec).length) {
      const { arrays, labels } = await readSamplesDirectory(spec, model);
      return { name: spec, ...splitSamples(fitModelInputs(model, arrays, labels), options) };
    }
  } catch (e) {
    throw e instanceof OtocError ? e.inFile(spec) : e;
  }
  throw new OtocError('holds no data otoc reads: train_images.npy (labeled images), test_data_set_*/input_<i>.pb, or a .npy per model input', spec);
}

function isBuiltIn(spec: string): boolean {
  return spec === 'fashion-mnist' || spec === 'mnist';
}
