/**
 * Atomic writes reach the disk in the order that survives a power loss: every temporary file is
 * synced before it is renamed, and the folder after the renames (issue 26, item 11). The real
 * node:fs does the work; the test only records the calls.
 */
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeFilesAtomically } from '../src/io/atomic.js';

const calls: string[] = [];

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const paths = new Map<number, string>();
  return {
    ...real,
    openSync: (path: string, flags: fs.OpenMode = 'r', mode?: fs.Mode) => {
      const fd = real.openSync(path, flags, mode);
      paths.set(fd, path);
      return fd;
    },
    fsyncSync: (fd: number) => {
      calls.push(`fsync ${paths.get(fd)}`);
      real.fsyncSync(fd);
    },
    renameSync: (from: string, to: string) => {
      calls.push(`rename ${from} -> ${to}`);
      real.renameSync(from, to);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'otoc-atomic-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFilesAtomically', () => {
  it('syncs each temporary file before its rename, and the folder after them', () => {
    const [data, model] = [join(dir, 'small.onnx.data'), join(dir, 'small.onnx')];
    writeFilesAtomically([
      [data, [Buffer.from('weights')]],
      [model, [Buffer.from('model')]],
    ]);
    expect(readFileSync(model, 'utf8')).toBe('model');
    const tmp = (path: string) => calls.find((c) => c.startsWith('fsync') && c.includes(`.${path.split('/').at(-1)}.tmp-`))!.slice('fsync '.length);
    expect(calls).toEqual([
      `fsync ${tmp(data)}`,
      `fsync ${tmp(model)}`,
      `rename ${tmp(data)} -> ${data}`,
      `rename ${tmp(model)} -> ${model}`,
      `fsync ${dir}`,
    ]);
  });
});
