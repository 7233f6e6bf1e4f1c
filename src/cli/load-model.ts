import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { validateModel } from '../ir/validate.js';
import { packedFileInfo } from '../methods/pemn/pack.js';
import { readModel } from '../onnx/read.js';

/** Read an ONNX file given on the command line and refuse it unless it is a valid model. */
export function loadModel(path: string): Model {
  const model = readModel(path);
  validateModel(model, path);
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
