import { OtocError } from '../errors.js';
import { gatherSamples, type Samples } from './samples.js';
import { gather, type Source } from './source.js';
import type { DataSplits, LoadOptions } from './types.js';

/*
 * How a source becomes train / val / test:
 * - val: the last images of each class's training part, in file order (LoadOptions.valSplit);
 * - every split is stored class-interleaved: the first image of class 0, of class 1, …, of the
 *   last class, then the second image of each class, and so on (a class that runs out is
 *   skipped), each class's images in file order;
 * - limit N keeps the first N training images of that order, so small limits still hold every
 *   class in equal numbers (2,000 Fashion-MNIST images: 200 per class).
 * Samples without labels (a model's sample inputs) are one group in file order: val is their
 * last part, and limit N keeps the first N of the rest.
 */

export function splitSource(source: Source, options: LoadOptions): DataSplits {
  const { classes, normalization } = source;
  const { train, val } = splitIndices(source.train.labels.length, options, { labels: source.train.labels, classes });
  return {
    name: source.name,
    train: gather(source.train, train, normalization, classes),
    ...(val.length > 0 && { val: gather(source.train, val, normalization, classes) }),
    ...(source.test && {
      test: gather(source.test, interleave(indicesByClass(source.test.labels, classes)), normalization, classes),
    }),
  };
}

/** Samples split into train and val as above (class-interleaved when they are labeled). */
export function splitSamples(samples: Samples, options: LoadOptions): { train: Samples; val?: Samples } {
  const labeled = samples.labels && { labels: samples.labels, classes: samples.classes ?? 0 };
  const { train, val } = splitIndices(samples.count, options, labeled);
  return { train: gatherSamples(samples, train), ...(val.length > 0 && { val: gatherSamples(samples, val) }) };
}

/** Indices of the training samples (limit applied) and of the validation samples. */
function splitIndices(count: number, options: LoadOptions, labeled?: { labels: Int32Array; classes: number }): { train: number[]; val: number[] } {
  const groups = labeled ? indicesByClass(labeled.labels, labeled.classes) : [Array.from({ length: count }, (_, i) => i)];
  const valCounts = groups.map((indices, label) => validationCount(options.valSplit ?? 0, indices.length, labeled && label));
  const train = interleave(groups.map((indices, c) => indices.slice(0, indices.length - valCounts[c])));
  const val = interleave(groups.map((indices, c) => indices.slice(indices.length - valCounts[c])));
  return { train: train.slice(0, checkedLimit(options.limit) ?? train.length), val };
}

/** The indices of each class's samples, in file order. */
function indicesByClass(labels: Int32Array, classes: number): number[][] {
  const byClass = Array.from({ length: classes }, (): number[] => []);
  labels.forEach((label, index) => byClass[label].push(index));
  return byClass;
}

/** One from each group in turn, skipping groups that ran out. */
function interleave(groups: readonly (readonly number[])[]): number[] {
  const longest = Math.max(0, ...groups.map((g) => g.length));
  const order: number[] = [];
  for (let rank = 0; rank < longest; rank++) {
    for (const group of groups) if (rank < group.length) order.push(group[rank]);
  }
  return order;
}

/** Validation samples of a group of `size`: of a class (`label`), or of all unlabeled samples. */
function validationCount(valSplit: number, size: number, label: number | undefined): number {
  const per = label === undefined ? '' : ' per class';
  if (!(valSplit >= 0) || (valSplit >= 1 && !Number.isInteger(valSplit))) {
    throw new OtocError(`the validation split must be a fraction in [0, 1) or a whole count${per}, got ${valSplit}`);
  }
  // A handful of unlabeled samples still lends one to validation (the verify stage needs some).
  const least = label === undefined && valSplit > 0 && size >= 2 ? 1 : 0;
  const count = valSplit < 1 ? Math.max(least, Math.round(valSplit * size)) : valSplit;
  if (size > 0 && count >= size) {
    const of = label === undefined ? `the ${size} samples` : `the ${size} training images of class ${label}`;
    throw new OtocError(`the validation split takes ${count} of ${of}, leaving none to train on`);
  }
  return Math.min(count, size);
}

function checkedLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new OtocError(`the limit must be a positive whole number of training images, got ${limit}`);
  }
  return limit;
}
