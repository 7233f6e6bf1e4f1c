import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The otoc package root (holds package.json and schemas/), from source or from dist/. */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('otoc: cannot locate package root');
    dir = up;
  }
  return dir;
})();

export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schemas');

/** The shared folder beside the project (corpus, design notes); OTOC_SHARED overrides it. */
export const SHARED_DIR = process.env.OTOC_SHARED ?? join(PACKAGE_ROOT, '..', 'shared');
export const CORPUS_DIR = join(SHARED_DIR, 'corpus');

/** The `model.onnx` of corpus model `name`. */
export function corpusModel(name: string): string {
  return join(CORPUS_DIR, name, 'model.onnx');
}
