/**
 * Many float arrays as one (to send to a worker in one transfer), and back: apart from the shards'
 * tfjs code, so that a method's state (the ADMM split's) can use them and the CLI's option
 * parsing still loads no tfjs.
 */
export function concatenate(arrays: readonly Float32Array[]): Float32Array<ArrayBuffer> {
  const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

export function split(flat: Float32Array, lengths: readonly number[]): Float32Array[] {
  let offset = 0;
  return lengths.map((n) => flat.subarray(offset, (offset += n)));
}
