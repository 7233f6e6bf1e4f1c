import { directorySource } from './directory.js';
import { fashionMnist } from './fashion-mnist.js';
import { mnist } from './mnist.js';
import type { Source } from './source.js';
import { splitSource } from './splits.js';
import type { DataSplits, LoadOptions } from './types.js';

export {
  batches,
  copySamples,
  gatherSamples,
  imageSamples,
  sampleBuffers,
  sampleSize,
  sliceSamples,
  type Batch,
  type BatchOptions,
  type SampleData,
  type SampleTensor,
  type Samples,
} from './samples.js';
export { fitToModelInput, modelImageSamples } from './fit.js';
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
