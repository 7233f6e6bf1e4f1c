/**
 * Sample inputs as a directory of .npy files, one per model input, named after the input (first
 * axis = samples):
 *   samples/
 *     input.npy      the model input 'input'
 *     mask.npy       the model input 'mask'
 *     inputs.json    optional: { "file.npy": "input name" } for names that are not file names
 *     labels.npy     optional: integer class labels, shape [samples]
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OtocError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { fedInputs, type InputArray } from './model-inputs.js';
import { labelsOf } from './directory.js';
import { readNpy, type NpyDtype } from './npy.js';

const MAPPING = 'inputs.json';
const LABELS = 'labels.npy';

const DATA_TYPES: Record<NpyDtype, DataType> = {
  '<f4': DataType.FLOAT,
  '<f8': DataType.DOUBLE,
  '<f2': DataType.FLOAT16,
  '|u1': DataType.UINT8,
  '|i1': DataType.INT8,
  '<i2': DataType.INT16,
  '<u2': DataType.UINT16,
  '<i4': DataType.INT32,
  '<u4': DataType.UINT32,
  '<i8': DataType.INT64,
  '<u8': DataType.UINT64,
  '|b1': DataType.BOOL,
};

/** The .npy files of `dir` (those of a samples directory, when it is one). */
export function npyFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.npy')).sort();
}

export interface DirectorySamples {
  arrays: InputArray[];
  labels?: Int32Array;
}

export async function readSamplesDirectory(dir: string, model: Model): Promise<DirectorySamples> {
  const mapping = readMapping(dir);
  const files = npyFiles(dir);
  const inputs = fedInputs(model).map((v) => v.name);
  const inputOf = (file: string) => mapping[file] ?? basename(file, '.npy');
  const unknown = files.find((f) => !(f === LABELS && mapping[f] === undefined) && !inputs.includes(inputOf(f)));
  if (unknown) {
    const hint = mapping[unknown] === undefined ? ` (name files after the inputs, or map them in ${MAPPING})` : '';
    throw new OtocError(`${unknown} feeds '${inputOf(unknown)}', which is not a model input (inputs: ${inputs.map((n) => `'${n}'`).join(', ')})${hint}`, dir);
  }
  const arrays = await Promise.all(
    files
      .filter((f) => inputs.includes(inputOf(f)))
      .map(async (f): Promise<InputArray> => {
        const path = join(dir, f);
        const npy = await readNpy(path);
        if (npy.shape.length === 0) throw new OtocError('holds a scalar: the first axis must be the samples', path);
        return { input: inputOf(f), dims: npy.shape, dataType: DATA_TYPES[npy.dtype], data: npy.data, origin: path };
      }),
  );
  const labelsFile = join(dir, LABELS);
  const labels = files.includes(LABELS) && mapping[LABELS] === undefined ? await readLabels(labelsFile) : undefined;
  return { arrays, ...(labels && { labels }) };
}

function readMapping(dir: string): Record<string, string> {
  const path = join(dir, MAPPING);
  if (!existsSync(path)) return {};
  let mapping: unknown;
  try {
    mapping = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new OtocError(`not valid JSON (${(e as Error).message})`, path);
  }
  const valid = typeof mapping === 'object' && mapping !== null && !Array.isArray(mapping) && Object.values(mapping).every((v) => typeof v === 'string');
  if (!valid) throw new OtocError('must map .npy file names to input names: { "file.npy": "input name" }', path);
  const entries = mapping as Record<string, string>;
  const missing = Object.keys(entries).find((f) => !existsSync(join(dir, f)));
  if (missing) throw new OtocError(`names ${missing}, which is not in the directory`, path);
  return entries;
}

async function readLabels(path: string): Promise<Int32Array> {
  const npy = await readNpy(path);
  if (npy.shape.length !== 1) throw new OtocError(`labels must have shape [samples], found [${npy.shape.join(', ')}]`, path);
  return labelsOf(npy, path);
}
