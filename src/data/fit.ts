import { OtocError } from '../errors.js';
import { formatShape, type Shape } from '../ir/types.js';
import type { Dataset } from './types.js';

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
