import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OtocError } from '../errors.js';
import { checkReplaceable } from './run-files.js';

/**
 * Write every file to a temporary sibling first and rename them into place only when all
 * were written, so a failure never leaves a half-written output behind. Each temporary file
 * is synced to disk before its rename and each folder after, so that a power loss cannot leave
 * a renamed file whose contents were never written. Renames happen in the order of `files`.
 * A file that holds a model's external data (run-files.ts) is never replaced.
 */
export function writeFilesAtomically(files: [path: string, chunks: Uint8Array[]][]): void {
  for (const [path] of files) checkReplaceable(path);
  const temps: [tmp: string, path: string][] = [];
  try {
    for (const [path, chunks] of files) {
      const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
      temps.push([tmp, path]);
      const fd = openSync(tmp, 'w');
      try {
        for (const chunk of chunks) writeAll(fd, chunk);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const [tmp, path] of temps) renameSync(tmp, path);
  } catch (e) {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const failed = temps.at(-1)?.[1] ?? files[0]?.[0];
    const why = code === 'ENOENT' ? 'its folder does not exist' : (code ?? (e as Error).message);
    throw new OtocError(`cannot write output (${why})`, failed);
  }
  for (const folder of new Set(files.map(([path]) => dirname(path)))) syncFolder(folder);
}

export function writeFileAtomically(path: string, content: string | Uint8Array): void {
  writeFilesAtomically([[path, [typeof content === 'string' ? Buffer.from(content) : content]]]);
}

/** Folders cannot be opened or synced on some systems and file systems: only there is a failure ignored. */
const FOLDER_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EACCES']);

/** Makes the renames into `folder` durable. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!FOLDER_SYNC_UNSUPPORTED.has(code ?? '')) {
      throw new OtocError(`the output was written, but syncing its folder to disk failed (${code ?? (e as Error).message})`, folder);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.byteLength; ) done += writeSync(fd, chunk, done, chunk.byteLength - done);
}
