import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { dimsToShape, formatShape, type Shape } from '../ir/types.js';
import { imageSamples, type Samples } from './samples.js';
import type { Dataset } from './types.js';

/**
 * Labeled images as the samples of a model with one data input that they fit; an OtocError says
 * why when the model has another number of inputs, an input without a declared shape, or one the
 * images cannot fit.
 */
export function modelImageSamples(model: Model, data: Dataset): Samples {
  const inputs = model.graph.inputs.filter((v) => !v.isConstant);
  if (inputs.length !== 1) {
    const names = inputs.map((v) => `'${v.name}'`).join(', ') || 'none';
    throw new OtocError(`training needs a model with one input (the images); this one has ${inputs.length}: ${names}`);
  }
  const [input] = inputs;
  if (input.type?.kind !== 'tensor' || !input.type.shape) throw new OtocError(`the model input '${input.name}' has no declared shape`);
  return imageSamples(data, input.name, fitToModelInput(data, dimsToShape(input.type.shape)));
}

/**
 * The shape one image takes as the model's input, without the batch axis: [C, H, W] for an
 * input [N, C, H, W], or [C·H·W] for a flattened input [N, C·H·W]. The batch axis may be
 * anything (the trainer frees it); a symbolic or unknown dim matches any size. An OtocError
 * names both shapes when the images cannot fit.
 */
export function fitToModelInput(data: Dataset, inputShape: Shape): number[] {
  const [, ...sampleDims] = inputShape;
  const flat = data.shape.reduce((a, b) => a * b, 1);
  for (const candidate of [data.shape, [flat]]) {
    if (sampleDims.length === candidate.length && sampleDims.every((d, i) => typeof d !== 'number' || d === candidate[i])) {
      return [...candidate];
    }
  }
  throw new OtocError(
    `the model input ${formatShape(inputShape)} cannot take images of shape ${formatShape(data.shape)}: ` +
      `it would need ${formatShape(['N', ...data.shape])} or ${formatShape(['N', flat])}`,
  );
}
