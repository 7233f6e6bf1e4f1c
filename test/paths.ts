import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

/** The shared folder beside the project (corpus, design notes); OTOC_SHARED overrides it. */
export const SHARED = process.env.OTOC_SHARED ?? resolve(PACKAGE_ROOT, '../shared');
export const CORPUS = join(SHARED, 'corpus');
export const TESTDATA = '/usr/share/libonnx-testdata/data';

export interface CorpusEntry {
  name: string;
  input_shape: number[];
  output_shape: number[];
  op_types: Record<string, number>;
  features: string[];
  initializer_elements_onnx: number;
}

export function corpusManifest(): CorpusEntry[] {
  if (!existsSync(join(CORPUS, 'manifest.json'))) throw new Error(`corpus not found at ${CORPUS}`);
  return JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')).models;
}

export function corpusModel(name: string): string {
  return join(CORPUS, name, 'model.onnx');
}

export function corpusTestSet(name: string): string {
  return join(CORPUS, name, 'test_data_set_0');
}
