/** .npy files for tests, as NumPy writes them. */
import { writeFileSync } from 'node:fs';

export type TypedArray = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array | Uint16Array;

/** A .npy file as NumPy writes it: magic, version, header padded to 64 bytes, raw data. */
export function npyBytes(descr: string, shape: number[], data: TypedArray, options: { version?: 1 | 2; fortran?: boolean } = {}): Uint8Array {
  const version = options.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  header = header.padEnd(Math.ceil((prefix + header.length + 1) / 64) * 64 - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return out;
}

export function writeNpy(path: string, ...args: Parameters<typeof npyBytes>): void {
  writeFileSync(path, npyBytes(...args));
}
