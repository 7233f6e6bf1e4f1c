import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OtocError } from '../errors.js';

/** The SHA-256 of a file given on the command line, hex; an OtocError when it cannot be read. */
export function fileSha256(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(e)})`, path);
  }
}
