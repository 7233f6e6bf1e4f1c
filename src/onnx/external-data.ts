/**
 * Reading external-data tensors, confined as onnxruntime confines them: a location is a relative
 * path whose real path (every symbolic link resolved) lies inside the model's real folder, and
 * it names a regular file. Each tensor is read by offset and length, so a data file may be far
 * larger than any buffer, and nothing outside the tensor's own bytes is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { OtocError } from '../errors.js';
import { noteFile } from '../io/run-files.js';

/** The bytes a tensor's external_data entries name. */
export interface ExternalRange {
  location: string;
  offset: number;
  /** Absent: up to the end of the file. */
  length: number | undefined;
}

/** Reads the bytes of external-data tensors; `needed` is the byte count the tensor's dims need. */
export type ExternalReader = (range: ExternalRange, needed: number) => Uint8Array;

/** One readSync call reads at most this much (Node refuses more than 2 GiB − 1 per call). */
const READ_CHUNK = 1 << 30;

interface OpenFile {
  fd: number;
  size: number;
}

/** The external-data files of one model, opened on first use; `close()` when the model is read. */
export class ExternalDataFiles {
  private readonly files = new Map<string, OpenFile>();
  private realBase?: string;

  /** `baseDir` is the model file's folder; without one, external data cannot be resolved. */
  constructor(private readonly baseDir: string | undefined) {}

  readonly read: ExternalReader = ({ location, offset, length }, needed) => {
    const file = this.open(location);
    const available = Math.max(0, file.size - offset);
    const size = length ?? available;
    if (offset > file.size || size > available) {
      throw new OtocError(`external data '${location}' is too short: needs bytes ${offset}..${offset + size}, has ${file.size}`);
    }
    if (size !== needed) {
      throw new OtocError(`external data '${location}' holds ${size} bytes at offset ${offset}, but the tensor's dims need ${needed}`);
    }
    // A fresh buffer starts at offset 0, aligned for every element type: the tensor is a view of it.
    const out = new Uint8Array(size);
    for (let done = 0; done < size; ) {
      let n: number;
      try {
        n = readSync(file.fd, out, done, Math.min(READ_CHUNK, size - done), offset + done);
      } catch (e) {
        throw new OtocError(`cannot read external data file '${location}' (${errorCode(e)})`);
      }
      if (n === 0) throw new OtocError(`external data file '${location}' became shorter while it was read`);
      done += n;
    }
    return out;
  };

  close(): void {
    for (const { fd } of this.files.values()) closeSync(fd);
    this.files.clear();
  }

  private open(location: string): OpenFile {
    const known = this.files.get(location);
    if (known) return known;
    const real = this.confined(location);
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the checked path must not turn into a link.
      fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      throw new OtocError(`cannot open external data file '${location}' (${errorCode(e)})`);
    }
    let stats: Stats;
    try {
      stats = fstatSync(fd);
      if (!stats.isFile()) throw new OtocError(`external data '${location}' is not a regular file (it is ${kindOf(stats)})`);
    } catch (e) {
      closeSync(fd);
      throw e instanceof OtocError ? e : new OtocError(`cannot read external data file '${location}' (${errorCode(e)})`);
    }
    noteFile(real, 'external data');
    const file = { fd, size: stats.size };
    this.files.set(location, file);
    return file;
  }

  /** The real path of `location`, refused unless it is a relative path that stays in the model's real folder. */
  private confined(location: string): string {
    if (!this.baseDir) throw new OtocError(`external data '${location}' cannot be resolved without the model's folder`);
    if (location.includes('\0')) throw new OtocError(`external data location '${location}' contains a NUL byte`);
    if (isAbsolute(location) || !inside(resolve(this.baseDir), resolve(this.baseDir, location))) {
      throw new OtocError(`external data location '${location}' points outside the model's folder`);
    }
    let real: string;
    try {
      this.realBase ??= realpathSync(this.baseDir);
      real = realpathSync(resolve(this.baseDir, location));
    } catch (e) {
      const code = errorCode(e);
      throw new OtocError(code === 'ENOENT' ? `external data file '${location}' is missing` : `cannot resolve external data location '${location}' (${code})`);
    }
    if (!inside(this.realBase, real)) {
      throw new OtocError(`external data location '${location}' leads outside the model's folder through a symbolic link`);
    }
    return real;
  }
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String((e as Error).message ?? e);
}
