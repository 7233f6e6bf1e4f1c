import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OtocError } from '../errors.js';

/**
 * Write every file to a temporary sibling first and rename them into place only when all
 * were written, so a failure never leaves a half-written output behind.
 */
export function writeFilesAtomically(files: [path: string, chunks: Uint8Array[]][]): void {
  const temps: [tmp: string, path: string][] = [];
  try {
    for (const [path, chunks] of files) {
      const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
      temps.push([tmp, path]);
      const fd = openSync(tmp, 'w');
      try {
        for (const chunk of chunks) writeAll(fd, chunk);
      } finally {
        closeSync(fd);
      }
    }
    for (const [tmp, path] of temps) renameSync(tmp, path);
  } catch (e) {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    const failed = temps.at(-1)?.[1] ?? files[0]?.[0];
    throw new OtocError(`cannot write output (${err.code ?? err.message})`, failed);
  }
}

export function writeFileAtomically(path: string, content: string | Uint8Array): void {
  writeFilesAtomically([[path, [typeof content === 'string' ? Buffer.from(content) : content]]]);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.byteLength; ) done += writeSync(fd, chunk, done, chunk.byteLength - done);
}
