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
