/**
 * Checkpoint files: one file per directory, `checkpoint.otoc`, replaced atomically
 * (src/pipeline/checkpoint.ts writes it), so a crash or Ctrl-C while saving leaves the previous
 * checkpoint intact. Layout: the magic line, the byte length of a JSON header (uint32 LE), the
 * header, zero padding to a multiple of 4, the float32 arrays (little-endian) that the header
 * refers to as {"$f32": offset, "length": n}, and last the SHA-256 of everything before it. A
 * checkpoint whose checksum fails, or whose header is not what a resumed run needs
 * (schemas/checkpoint.schema.json), is refused before anything reads it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../errors.js';
import { schemaViolations } from '../io/json-schema.js';
import type { OptimizerState } from './optimizer.js';
import type { TrainerState } from './trainer.js';

export const CHECKPOINT_FILE = 'checkpoint.otoc';
const MAGIC = Buffer.from('OTOC-CHECKPOINT 2\n');
/** Format 1 had no checksum. */
const MAGIC_1 = Buffer.from('OTOC-CHECKPOINT 1\n');
const CHECKSUM_BYTES = 32;

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
    throw new OtocError(`not a usable otoc checkpoint: ${(e as Error).message}`, path);
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
  const chunks = [MAGIC, length, json, padding, ...arrays.map(littleEndianBytes)];
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return [...chunks, hash.digest()];
}

/** The checkpoint in `bytes`; throws an Error that says what is wrong with it. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (file.subarray(0, MAGIC_1.length).equals(MAGIC_1)) {
    throw new Error('it was written by an older otoc, in a format without a checksum; start the run again without --resume');
  }
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('it does not start with the otoc checkpoint magic');
  if (file.length < MAGIC.length + 4 + CHECKSUM_BYTES) throw new Error('it is truncated');
  const buffer = file.subarray(0, file.length - CHECKSUM_BYTES);
  if (!createHash('sha256').update(buffer).digest().equals(file.subarray(buffer.length))) {
    throw new Error('its checksum does not match its contents: the file was truncated, damaged or changed after otoc wrote it');
  }
  const jsonStart = MAGIC.length + 4;
  const jsonEnd = jsonStart + buffer.readUInt32LE(MAGIC.length);
  if (jsonEnd > buffer.length) throw new Error('its header is longer than the file');
  const dataStart = jsonEnd + ((4 - (jsonEnd % 4)) % 4);
  const text = buffer.subarray(jsonStart, jsonEnd).toString('utf8');
  try {
    checkStructure(JSON.parse(text));
  } catch (e) {
    throw e instanceof SyntaxError ? new Error(`its header is not JSON (${e.message})`) : e;
  }
  const floats = (offset: number, length: number) => {
    const start = dataStart + 4 * offset;
    if (start + 4 * length > buffer.length) throw new Error('its header refers to float data beyond the end of the file');
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = buffer.readFloatLE(start + 4 * i);
    return out;
  };
  return JSON.parse(text, (_key, value: unknown) => {
    const ref = value as { $f32?: number; length?: number } | null;
    return typeof ref?.$f32 === 'number' && typeof ref.length === 'number' ? floats(ref.$f32, ref.length) : value;
  }) as Checkpoint;
}

/**
 * Refuses a header that is not what a resumed run reads (a renamed or missing key, a string
 * for a step count), so that the error is about the checkpoint, not a NaN in the training.
 */
function checkStructure(header: unknown): void {
  const problems = schemaViolations('checkpoint.schema.json', header);
  if (problems.length) throw new Error(`its header is not what a resumed run needs: ${problems.join('; ')}`);
}

/**
 * Refuses optimizer or extension state from a checkpoint unless it holds every key of
 * `current`, the state of the run that resumes, with the same kind of value (and for float
 * arrays, the same length). `what` names the state in the error.
 */
export function checkSavedState(saved: OptimizerState, current: OptimizerState, what: string): void {
  const shape = (v: unknown) =>
    typeof v === 'number' ? 'a number'
    : v instanceof Float32Array ? `${v.length} floats`
    : Array.isArray(v) ? 'an array of numbers'
    : v === undefined ? 'nothing'
    : 'something else';
  for (const key of Object.keys(current)) {
    const [there, here] = [shape(saved[key]), shape(current[key])];
    if (there !== here) throw new OtocError(`the checkpoint's ${what} state has ${there} for '${key}', where this run has ${here}`);
  }
}

function littleEndianBytes(array: Float32Array): Uint8Array {
  const out = Buffer.alloc(array.length * 4);
  for (let i = 0; i < array.length; i++) out.writeFloatLE(array[i], 4 * i);
  return out;
}
