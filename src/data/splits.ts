import { OtocError } from '../errors.js';
import { gather, type LabeledPixels, type Source } from './source.js';
import type { DataSplits, LoadOptions } from './types.js';

/*
 * How a source becomes train / val / test:
 * - val: the last images of each class's training part, in file order (LoadOptions.valSplit);
 * - every split is stored class-interleaved: the first image of class 0, of class 1, …, of the
 *   last class, then the second image of each class, and so on (a class that runs out is
 *   skipped), each class's images in file order;
 * - limit N keeps the first N training images of that order, so small limits still hold every
 *   class in equal numbers (2,000 Fashion-MNIST images: 200 per class).
 */

export function splitSource(source: Source, options: LoadOptions): DataSplits {
  const { classes, normalization } = source;
  const byClass = indicesByClass(source.train, classes);
  const valCounts = byClass.map((indices, label) => validationCount(options.valSplit ?? 0, indices.length, label));
  const train = interleave(byClass.map((indices, c) => indices.slice(0, indices.length - valCounts[c])));
  const val = interleave(byClass.map((indices, c) => indices.slice(indices.length - valCounts[c])));
  const kept = train.slice(0, checkedLimit(options.limit) ?? train.length);
  return {
    name: source.name,
    train: gather(source.train, kept, normalization, classes),
    ...(val.length > 0 && { val: gather(source.train, val, normalization, classes) }),
    ...(source.test && {
      test: gather(source.test, interleave(indicesByClass(source.test, classes)), normalization, classes),
    }),
  };
}

/** The indices of each class's images, in file order. */
function indicesByClass(data: LabeledPixels, classes: number): number[][] {
  const byClass = Array.from({ length: classes }, (): number[] => []);
  data.labels.forEach((label, index) => byClass[label].push(index));
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

function validationCount(valSplit: number, classSize: number, label: number): number {
  if (!(valSplit >= 0) || (valSplit >= 1 && !Number.isInteger(valSplit))) {
    throw new OtocError(`the validation split must be a fraction in [0, 1) or a whole count per class, got ${valSplit}`);
  }
  const count = valSplit < 1 ? Math.round(valSplit * classSize) : valSplit;
  if (classSize > 0 && count >= classSize) {
    throw new OtocError(
      `the validation split takes ${count} of the ${classSize} training images of class ${label}, leaving none to train on`,
    );
  }
  return Math.min(count, classSize);
}

function checkedLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new OtocError(`the limit must be a positive whole number of training images, got ${limit}`);
  }
  return limit;
}
