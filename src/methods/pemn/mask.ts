/**
 * Binary masks from scores (edge-popup) and their bit packing.
 *
 * A layer keeps the `keep` fraction of its weights with the largest |score|: as the reference's
 * GetSubnet, the ⌊(1 − keep)·n⌋ smallest are zeroed and the rest kept. Equal |scores| at the
 * threshold are decided by position, the later ones kept, so the mask is a function of the
 * scores alone (the same on every thread).
 */

/** Weights a layer of `size` keeps. */
export function keptCount(size: number, keep: number): number {
  return size - Math.floor((1 - keep) * size);
}

/** 1 where a weight is kept: the `keptCount` largest |score|s. */
export function topKMask(scores: Float32Array, keep: number): Uint8Array {
  const n = scores.length;
  const dropped = n - keptCount(n, keep);
  const mask = new Uint8Array(n).fill(1);
  if (dropped === 0) return mask;
  const magnitudes = Float32Array.from(scores, Math.abs);
  const threshold = nthSmallest(Float32Array.from(magnitudes), dropped - 1);
  // Below the threshold: dropped. At it: as many as are still to drop, earliest first.
  let below = 0;
  for (let j = 0; j < n; j++) if (magnitudes[j] < threshold) below++;
  let atThreshold = dropped - below;
  for (let j = 0; j < n; j++) {
    const m = magnitudes[j];
    if (m < threshold || (m === threshold && atThreshold-- > 0)) mask[j] = 0;
  }
  return mask;
}

/** The k-th smallest value (0-based) of `values`, which it reorders (Hoare's selection). */
function nthSmallest(values: Float32Array, k: number): number {
  let [lo, hi] = [0, values.length - 1];
  while (lo < hi) {
    const pivot = median3(values[lo], values[(lo + hi) >>> 1], values[hi]);
    let [i, j] = [lo, hi];
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        [values[i], values[j]] = [values[j], values[i]];
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}

function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/** Bits packed 8 per byte, the first bit in the lowest: bit j is (bytes[j >> 3] >> (j & 7)) & 1. */
export function packBits(bits: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  for (let j = 0; j < bits.length; j++) if (bits[j]) bytes[j >> 3] |= 1 << (j & 7);
  return bytes;
}

/** The first `count` bits of `bytes` (packBits' inverse). */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, j) => (bytes[j >> 3] >> (j & 7)) & 1);
}
