import { OtocError } from '../errors.js';
import type { Model, Value } from '../ir/graph.js';
import { dimsToShape, formatShape } from '../ir/types.js';
import type { ShapeAnalysis } from '../../passes/infer-shapes.js';
import { fitToModelInput, type Dataset } from '../data/index.js';

/** How images enter a classifier and how many scores come out. */
export interface ClassifierInterface {
  /** The graph input the images feed. */
  input: string;
  /** One image's shape as that input takes it, without the batch axis. */
  sampleDims: number[];
  classes: number;
}

/**
 * Checks that `model` is an image classifier the trainer can train on `data`: one data input that
 * the images fit, one output of shape [N, K] (logits) with K covering the data's labels.
 */
export function classifierInterface(model: Model, facts: ShapeAnalysis, data: Dataset): ClassifierInterface {
  const inputs = model.graph.inputs.filter((v) => !v.isConstant);
  if (inputs.length !== 1) {
    throw new OtocError(`training needs a model with one input (the images); this one has ${inputs.length}: ${names(inputs)}`);
  }
  const [input] = inputs;
  if (input.type?.kind !== 'tensor' || !input.type.shape) throw new OtocError(`the model input '${input.name}' has no declared shape`);
  const sampleDims = fitToModelInput(data, dimsToShape(input.type.shape));

  const outputs = model.graph.outputs;
  if (outputs.length !== 1) {
    throw new OtocError(`training needs a classifier with one output (the logits); this model has ${outputs.length}: ${names(outputs)}`);
  }
  const shape = facts.get(outputs[0])?.shape;
  const classes = shape?.[1];
  if (shape?.length !== 2 || typeof classes !== 'number') {
    throw new OtocError(
      `the model output '${outputs[0].name}' has shape ${formatShape(shape)}, not [N, classes]: training needs a classifier's logits`,
    );
  }
  if (classes < data.classes) {
    throw new OtocError(`the data has ${data.classes} classes but the model output '${outputs[0].name}' gives ${classes} scores per image`);
  }
  return { input: input.name, sampleDims, classes };
}

function names(values: Value[]): string {
  return values.map((v) => `'${v.name}'`).join(', ') || 'none';
}
