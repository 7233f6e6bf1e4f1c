/**
 * Slices of a row-major tensor along an axis: where their elements sit, what is left once some
 * are cut, and the tensor operations built on that. Every other module addresses slices through
 * these functions.
 */
import type { NumericArray } from './dtype.js';
import { Tensor, elementCount, isNumeric } from './tensor.js';

/**
 * A row-major tensor of some dims seen around one axis: `outer` blocks, each holding `size`
 * slices of `inner` contiguous elements. Slice i's run in block o starts at (o·size + i)·inner.
 */
export interface AxisView {
  outer: number;
  size: number;
  inner: number;
}

export function axisView(dims: readonly number[], axis: number): AxisView {
  return { outer: elementCount(dims.slice(0, axis)), size: dims[axis], inner: elementCount(dims.slice(axis + 1)) };
}

/** Indices to cut, per axis. */
export type AxisCuts = ReadonlyMap<number, ReadonlySet<number>>;

/** Flat offsets of slice `index` along `axis`, ascending. */
export function sliceOffsets(dims: readonly number[], axis: number, index: number): Int32Array {
  const { outer, size, inner } = axisView(dims, axis);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    const from = (o * size + index) * inner;
    for (let r = 0; r < inner; r++) out[o * inner + r] = from + r;
  }
  return out;
}

/** The dims once `cuts` are removed. */
export function keptDims(dims: readonly number[], cuts: AxisCuts): number[] {
  return dims.map((d, axis) => d - (cuts.get(axis)?.size ?? 0));
}

/** Flat offsets, ascending, of the elements that no cut removes. */
export function keptOffsets(dims: readonly number[], cuts: AxisCuts): Int32Array {
  return selectionOffsets(dims, dims.map((d, axis) => keptIndices(d, cuts.get(axis))));
}

/**
 * Flat offsets of the elements picked by one index list per axis (as Slice and Gather pick:
 * in any order, repeats allowed), in the row-major order of the selection.
 */
export function selectionOffsets(dims: readonly number[], picks: readonly (readonly number[])[]): Int32Array {
  // Trailing axes picked whole and in order are contiguous: each pick before them starts a run.
  let last = dims.length - 1;
  while (last >= 0 && picks[last].length === dims[last] && picks[last].every((i, k) => i === k)) last--;
  const inner = elementCount(dims.slice(last + 1));
  const out = new Int32Array(elementCount(picks.slice(0, last + 1).map((p) => p.length)) * inner);
  let at = 0;
  const walk = (axis: number, base: number): void => {
    if (axis > last) {
      for (let r = 0; r < inner; r++) out[at++] = base * inner + r;
      return;
    }
    for (const i of picks[axis]) walk(axis + 1, base * dims[axis] + i);
  };
  walk(0, 0);
  return out;
}

function keptIndices(size: number, cut: ReadonlySet<number> | undefined): number[] {
  const kept: number[] = [];
  for (let i = 0; i < size; i++) if (!cut?.has(i)) kept.push(i);
  return kept;
}

function numeric(t: Tensor): NumericArray {
  if (!isNumeric(t)) throw new Error(`tensor '${t.name}' holds strings and cannot be sliced`);
  return t.data;
}

/** A copy of `t` without indices `drop` along `axis` (raw storage unless it was external). */
export function withoutIndices(t: Tensor, axis: number, drop: ReadonlySet<number>): Tensor {
  const data = numeric(t);
  const { outer, size, inner } = axisView(t.dims, axis);
  const keep = keptIndices(size, drop);
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
  const { outer, size, inner } = axisView(t.dims, axis);
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
  const { outer, size, inner } = axisView(t.dims, axis);
  const zero = (typeof data[0] === 'bigint' ? 0n : 0) as never;
  for (let o = 0; o < outer; o++) data.fill(zero, (o * size + index) * inner, (o * size + index + 1) * inner);
}

/**
 * Whether slice `index` along `axis` is zero at every position whose index along each other axis
 * is not in `skip` (indices that are cut from those axes).
 */
export function sliceIsZero(t: Tensor, axis: number, index: number, skip: AxisCuts = new Map()): boolean {
  const data = numeric(t);
  const dims = t.dims;
  const strides = dims.map((_, a) => elementCount(dims.slice(a + 1)));
  const { outer, size, inner } = axisView(dims, axis);
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
