/**
 * `--data random:N`: N samples per model input drawn as `otoc verify --random` draws them (floats
 * from N(0, 1), small non-negative integers, fair bools), seed 0. For smoke tests and data-free
 * runs: it says nothing about the quality a model keeps on real data.
 */
import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { assumedShape, type ShapeOverrides } from '../ir/input-shapes.js';
import { isNumeric } from '../ir/tensor.js';
import { dimsToShape, formatShape } from '../ir/types.js';
import { inputSets } from '../runtime/inputs.js';
import { concatenateArrays, fedInputs, type InputArray } from './model-inputs.js';

/** The count `random:N` asks for; undefined when `spec` is not of that form. */
export function randomCount(spec: string): number | undefined {
  const m = /^random:(.*)$/.exec(spec);
  if (!m) return undefined;
  const count = Number(m[1]);
  if (!(Number.isInteger(count) && count > 0)) throw new OtocError(`--data random:N needs a positive whole number of samples, got '${spec}'`);
  return count;
}

/** `count` random samples of every fed input; every dim but the batch must be known, from the model or `shapes`. */
export function randomInputArrays(model: Model, count: number, shapes: ShapeOverrides): InputArray[] {
  const inputs = fedInputs(model);
  const perSample = new Map(
    inputs.map((v) => {
      const declared = v.type?.kind === 'tensor' && v.type.shape ? dimsToShape(v.type.shape) : undefined;
      const shape = assumedShape(v.name, declared, shapes);
      if (!shape) throw new OtocError(`the model input '${v.name}' has no declared shape: give one with --shape ${v.name}=1x…`);
      const [, ...rest] = shape;
      const batch = declared?.[0];
      if (rest.some((d) => typeof d !== 'number')) {
        throw new OtocError(`the model input '${v.name}' is ${formatShape(shape)}: random:N needs the sizes of its symbolic dims, e.g. --shape ${v.name}=1x${rest.map((d) => (typeof d === 'number' ? d : '…')).join('x')}`);
      }
      return [v.name, [typeof batch === 'number' ? batch : 1, ...(rest as number[])]];
    }),
  );
  const sets = inputSets({ kind: 'random', count, seed: 0, shapes: perSample }, model, inputs.map((v) => v.name));
  return inputs.map((v) =>
    concatenateArrays(
      sets.map((set): InputArray => {
        const t = set[v.name];
        if (!isNumeric(t)) throw new OtocError(`the model input '${v.name}' takes strings: otoc trains on numeric inputs`);
        return { input: v.name, dims: t.dims, dataType: t.dataType, data: t.data, origin: 'random' };
      }),
    ),
  );
}
