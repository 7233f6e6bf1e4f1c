import { OtocError, attributedTo } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { validateModel } from '../ir/validate.js';
import { packedFileInfo } from '../methods/pemn/pack.js';
import { readModel } from '../onnx/read.js';
import { inferShapes } from '../../passes/infer-shapes.js';

/** Read an ONNX file given on the command line and refuse it unless it is a valid model. */
export function loadModel(path: string): Model {
  return attributedTo(path, () => checkModel(readModel(path)));
}

/**
 * Refuse `model` (an OtocError) unless it is valid, before any work is done on it: the graph
 * rules (validateModel), then the shape pass, whose op-table rules refuse what the ONNX spec
 * forbids and sizes beyond otoc's limits (src/limits.ts).
 */
export function checkModel(model: Model): Model {
  validateModel(model);
  inferShapes(model);
  return model;
}

/**
 * `loadModel` for a command that analyzes or trains the weights themselves (`what` it does):
 * a packed PEMN file, whose weights nodes rebuild at load time, is refused in one line.
 */
export function loadDenseModel(path: string, what: string): Model {
  const model = loadModel(path);
  if (packedFileInfo(model)) {
    throw new OtocError(
      `a packed PEMN model (its weights are rebuilt at load time from a prototype and bit masks): ${what} needs the dense model, which otoc compress --method pemn writes with --materialize`,
      path,
    );
  }
  return model;
}
