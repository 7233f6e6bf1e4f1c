import type { NumericArray } from './dtype.js';

/**
 * A deep copy of the data the IR holds (tensors, types, the protobuf messages it carries
 * through): arrays, typed arrays and objects are copied, other values shared.
 * An object keeps its prototype, so a protobuf message stays a message and a Long a Long.
 */
export function deepCopy<T>(x: T): T {
  if (typeof x !== 'object' || x === null) return x;
  if (ArrayBuffer.isView(x)) return copyArray(x as unknown as NumericArray) as T;
  if (Array.isArray(x)) return x.map(deepCopy) as T;
  const out = Object.create(Object.getPrototypeOf(x)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(x)) out[k] = deepCopy(v);
  return out as T;
}

/** A copy of `a` in a buffer of its own (a Node Buffer becomes a Uint8Array: its slice() would be a view). */
function copyArray<A extends NumericArray>(a: A): A {
  return (Buffer.isBuffer(a) ? new Uint8Array(a) : a.slice()) as A;
}
