import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_DIR, SHARED_DIR, corpusModel } from '../src/paths.js';

export const SHARED = SHARED_DIR;
export const CORPUS = CORPUS_DIR;
export { corpusModel };
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

export function corpusTestSet(name: string): string {
  return join(CORPUS, name, 'test_data_set_0');
}
