/**
 * Checkpoint files: one file per directory, `checkpoint.otoc`, replaced atomically
 * (src/pipeline/checkpoint.ts writes it), so a crash or Ctrl-C while saving leaves the previous
 * checkpoint intact. Layout: the magic line, the byte
 * length of a JSON header (uint32 LE), the header, zero padding to a multiple of 4, then the
 * float32 arrays (little-endian) that the header refers to as {"$f32": offset, "length": n}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import type { TrainerState } from './trainer.js';

export const CHECKPOINT_FILE = 'checkpoint.otoc';
const MAGIC = Buffer.from('OTOC-CHECKPOINT 1\n');

export interface Checkpoint<Meta = unknown> {
  /** What the caller needs to check that a resumed run is the same run (options, model digest) and where it stands. */
  meta: Meta;
  /** The trainer's state, when the run stopped inside a training. */
  trainer?: TrainerState;
}

export function readCheckpoint<Meta>(dir: string): Checkpoint<Meta> {
  const path = join(dir, CHECKPOINT_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'no checkpoint to resume from' : `cannot read the checkpoint (${code ?? String(e)})`, path);
  }
  try {
    return decodeCheckpoint(bytes) as Checkpoint<Meta>;
  } catch (e) {
    throw new OtocError(`not a readable otoc checkpoint (${(e as Error).message})`, path);
  }
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array[] {
  const arrays: Float32Array[] = [];
  let offset = 0;
  const header = JSON.stringify(checkpoint, (_key, value: unknown) => {
    if (!(value instanceof Float32Array)) return value;
    arrays.push(value);
    const ref = { $f32: offset, length: value.length };
    offset += value.length;
    return ref;
  });
  const json = Buffer.from(header);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const headerBytes = MAGIC.length + 4 + json.length;
  const padding = Buffer.alloc((4 - (headerBytes % 4)) % 4);
  return [MAGIC, length, json, padding, ...arrays.map(littleEndianBytes)];
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buffer.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('it does not start with the otoc checkpoint magic');
  const jsonStart = MAGIC.length + 4;
  const jsonEnd = jsonStart + buffer.readUInt32LE(MAGIC.length);
  if (jsonEnd > buffer.length) throw new Error('it is truncated');
  const dataStart = jsonEnd + ((4 - (jsonEnd % 4)) % 4);
  const floats = (offset: number, length: number) => {
    const start = dataStart + 4 * offset;
    if (start + 4 * length > buffer.length) throw new Error('it is truncated');
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = buffer.readFloatLE(start + 4 * i);
    return out;
  };
  return JSON.parse(buffer.subarray(jsonStart, jsonEnd).toString('utf8'), (_key, value: unknown) => {
    const ref = value as { $f32?: number; length?: number } | null;
    return typeof ref?.$f32 === 'number' && typeof ref.length === 'number' ? floats(ref.$f32, ref.length) : value;
  }) as Checkpoint;
}

function littleEndianBytes(array: Float32Array): Uint8Array {
  const out = Buffer.alloc(array.length * 4);
  for (let i = 0; i < array.length; i++) out.writeFloatLE(array[i], 4 * i);
  return out;
}
