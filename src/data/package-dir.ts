import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The folder an installed npm package lives in. */
export function packageDir(name: string): string {
  return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
}
