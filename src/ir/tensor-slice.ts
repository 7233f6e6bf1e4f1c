import type { NumericArray } from './dtype.js';
import { Tensor, elementCount, isNumeric } from './tensor.js';

/** outer × size × inner view of `dims` around `axis`. */
function around(dims: readonly number[], axis: number): { outer: number; size: number; inner: number } {
  return { outer: elementCount(dims.slice(0, axis)), size: dims[axis], inner: elementCount(dims.slice(axis + 1)) };
}

function numeric(t: Tensor): NumericArray {
  if (!isNumeric(t)) throw new Error(`tensor '${t.name}' holds strings and cannot be sliced`);
  return t.data;
}

/** A copy of `t` without indices `drop` along `axis` (raw storage unless it was external). */
export function withoutIndices(t: Tensor, axis: number, drop: ReadonlySet<number>): Tensor {
  const data = numeric(t);
  const { outer, size, inner } = around(t.dims, axis);
  const keep = Array.from({ length: size }, (_, i) => i).filter((i) => !drop.has(i));
  const out = new (data.constructor as new (n: number) => NumericArray)(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of keep) {
      const from = (o * size + i) * inner;
      out.set(data.subarray(from, from + inner) as never, at);
      at += inner;
    }
  }
  const dims = [...t.dims];
  dims[axis] = keep.length;
  const storage = t.storage.kind === 'external' ? t.storage : { kind: 'raw' as const };
  return { ...t, dims, data: out, storage };
}

/** For each index along `axis`, whether its whole slice is zero. */
export function zeroSlices(t: Tensor, axis: number): boolean[] {
  const data = numeric(t);
  const { outer, size, inner } = around(t.dims, axis);
  const zero = new Array<boolean>(size).fill(true);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < size; i++) {
      if (!zero[i]) continue;
      const from = (o * size + i) * inner;
      for (let r = 0; r < inner; r++) {
        if (data[from + r] != 0) {
          zero[i] = false;
          break;
        }
      }
    }
  }
  return zero;
}

/** Set slice `index` along `axis` to zero, in place. */
export function zeroSlice(t: Tensor, axis: number, index: number): void {
  const data = numeric(t);
  const { outer, size, inner } = around(t.dims, axis);
  const zero = (typeof data[0] === 'bigint' ? 0n : 0) as never;
  for (let o = 0; o < outer; o++) data.fill(zero, (o * size + index) * inner, (o * size + index + 1) * inner);
}

/**
 * Whether slice `index` along `axis` is zero at every position whose index along each other axis
 * is not in `skip` (indices that are cut from those axes).
 */
export function sliceIsZero(t: Tensor, axis: number, index: number, skip: ReadonlyMap<number, ReadonlySet<number>> = new Map()): boolean {
  const data = numeric(t);
  const dims = t.dims;
  const strides = dims.map((_, a) => elementCount(dims.slice(a + 1)));
  const { outer, size, inner } = around(dims, axis);
  const skipped = (offset: number) => {
    for (const [a, set] of skip) if (a !== axis && set.has(Math.floor(offset / strides[a]) % dims[a])) return true;
    return false;
  };
  for (let o = 0; o < outer; o++) {
    const from = (o * size + index) * inner;
    for (let r = 0; r < inner; r++) if (data[from + r] != 0 && !skipped(from + r)) return false;
  }
  return true;
}
