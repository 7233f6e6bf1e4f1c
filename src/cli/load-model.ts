import type { Model } from '../ir/graph.js';
import { validateModel } from '../ir/validate.js';
import { readModel } from '../onnx/read.js';

/** Read an ONNX file given on the command line and refuse it unless it is a valid model. */
export function loadModel(path: string): Model {
  const model = readModel(path);
  validateModel(model, path);
  return model;
}
