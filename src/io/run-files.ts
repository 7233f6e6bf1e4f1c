import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OtocError } from '../errors.js';

/**
 * The files this process has read models and external data from, and written, by canonical
 * path. Writers consult them so that an output never replaces a file that a model of this run
 * (an input, or an output written earlier) reads its weights from, and never gives its data
 * file the name of a file this run has read or written.
 */
const dataFiles = new Set<string>();
const used = new Set<string>();

export type FileUse = 'model' | 'external data' | 'output model' | 'output data';

export function noteFile(path: string, use: FileUse): void {
  const key = canonicalPath(path);
  used.add(key);
  if (use === 'external data' || use === 'output data') dataFiles.add(key);
}

/** Throws unless an output may replace `path`: no model this run read or wrote keeps its external data there. */
export function checkReplaceable(path: string): void {
  if (dataFiles.has(canonicalPath(path))) {
    throw new OtocError('holds the external data of another model (an input, or an output of this run); otoc does not overwrite it', path);
  }
}

/** Whether this run has read or written `path`. */
export function isUsed(path: string): boolean {
  return used.has(canonicalPath(path));
}

/**
 * The absolute path with every symlink in its folder resolved. The last component stays as it
 * is: renaming a file onto a symlink replaces the link, not what it points to.
 */
export function canonicalPath(path: string): string {
  const full = resolve(path);
  try {
    return join(realpathSync(dirname(full)), basename(full));
  } catch {
    return full;
  }
}
