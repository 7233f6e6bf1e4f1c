/**
 * Sample inputs in the ONNX test-data layout: DIR/test_data_set_<k>/input_<i>.pb, input i feeding
 * the model's i-th input. Each set is one sample, or a batch of them along the first axis; the
 * sets are joined in the order of k. DIR may also be one such set.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { isNumeric } from '../ir/tensor.js';
import { readTestTensors } from '../runtime/ort.js';
import { concatenateArrays, fedInputs, type InputArray } from './model-inputs.js';

const SET = /^test_data_set_(\d+)$/;

/** The test-data sets under `dir` (or `dir` itself when it holds input_<i>.pb), in order; empty when it is neither. */
export function testDataSets(dir: string): string[] {
  const names = readdirSync(dir);
  if (names.some((f) => /^input_\d+\.pb$/.test(f))) return [dir];
  return names
    .map((f) => SET.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(dir, m[0]));
}

/** Every model input's values over all the sets. */
export function readTestDataSets(sets: readonly string[], model: Model): InputArray[] {
  const inputs = fedInputs(model);
  const perSet = sets.map((set) => {
    const tensors = readTestTensors(set, 'input');
    if (tensors.length !== inputs.length) {
      throw new OtocError(`holds ${tensors.length} input tensors (input_<i>.pb); the model takes ${inputs.length}: ${inputs.map((v) => `'${v.name}'`).join(', ')}`, set);
    }
    return tensors.map((t, i): InputArray => {
      const origin = join(set, `input_${i}.pb`);
      if (!isNumeric(t)) throw new OtocError('holds strings: otoc trains on numeric inputs', origin);
      if (t.dims.length === 0) throw new OtocError('holds a scalar: a set holds a sample, or a batch along the first axis', origin);
      return { input: inputs[i].name, dims: t.dims, dataType: t.dataType, data: t.data, origin };
    });
  });
  return inputs.map((_, i) => concatenateArrays(perSet.map((arrays) => arrays[i])));
}

/** Whether `dir` is in this layout. */
export function isTestDataDirectory(dir: string): boolean {
  return existsSync(dir) && testDataSets(dir).length > 0;
}
