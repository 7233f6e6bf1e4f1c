import { readFile } from 'node:fs/promises';
import { OtocError } from '../errors.js';

/*
 * A minimal reader of NumPy's .npy format (versions 1 to 3): little-endian, C-order arrays of
 * the types below. Anything else is an OtocError that says what to change.
 */

const TYPES = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  /** float16, as its bit patterns. */
  '<f2': Uint16Array,
  '|u1': Uint8Array,
  '|i1': Int8Array,
  '<i2': Int16Array,
  '<u2': Uint16Array,
  '<i4': Int32Array,
  '<u4': Uint32Array,
  '<i8': BigInt64Array,
  '<u8': BigUint64Array,
  '|b1': Uint8Array,
} as const;

export type NpyDtype = keyof typeof TYPES;
export type NpyData = InstanceType<(typeof TYPES)[NpyDtype]>;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const MAGIC = '\x93NUMPY';

export async function readNpy(path: string): Promise<NpyArray> {
  try {
    return parseNpy(new Uint8Array(await readFile(path)));
  } catch (e) {
    throw e instanceof OtocError ? e.inFile(path) : e;
  }
}

export function parseNpy(bytes: Uint8Array): NpyArray {
  if (String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) throw new OtocError('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) throw new OtocError(`.npy format version ${major} is not supported (1 to 3 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerLength, headerStart] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLength);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const { dtype, shape } = parseHeader(header);
  const Type = TYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const end = start + count * Type.BYTES_PER_ELEMENT;
  if (end > bytes.length) {
    throw new OtocError(`the file is truncated: shape [${shape.join(', ')}] needs ${end} bytes, it has ${bytes.length}`);
  }
  // A copy, so that the typed array starts on an aligned offset.
  return { dtype, shape, data: new Type(bytes.slice(start, end).buffer) };
}

function parseHeader(header: string): { dtype: NpyDtype; shape: number[] } {
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortranOrder = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortranOrder === undefined || shapeText === undefined) {
    throw new OtocError(`unreadable .npy header: ${header.trim()}`);
  }
  if (fortranOrder === 'True') throw new OtocError('Fortran-order arrays are not supported: save np.ascontiguousarray(a)');
  if (descr.startsWith('>')) throw new OtocError(`big-endian arrays are not supported: save a.astype('<${descr.slice(1)}')`);
  if (!(descr in TYPES)) {
    throw new OtocError(`dtype '${descr}' is not supported; use one of ${Object.keys(TYPES).join(', ')}`);
  }
  const shape = shapeText
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new OtocError(`unreadable shape (${shapeText})`);
  return { dtype: descr as NpyDtype, shape };
}
