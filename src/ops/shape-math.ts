import type { Shape } from '../ir/types.js';

/** One dimension of a static shape: a size, a symbolic name, or null when unknown. */
export type ShapeDim = Shape[number];

export function isStaticShape(shape: Shape | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Product of dims that may be symbolic or unknown: null unless all are numbers. */
export function dimProduct(dims: readonly ShapeDim[]): number | null {
  return dims.every((d): d is number => typeof d === 'number') ? product(dims) : null;
}

/** `axis` in [-rank, rank) as a non-negative index, or undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/** Normalized distinct axes, or undefined when one is out of range or repeated. */
export function normalizeAxes(axes: readonly number[], rank: number): number[] | undefined {
  const out: number[] = [];
  for (const axis of axes) {
    const a = normalizeAxis(axis, rank);
    if (a === undefined || out.includes(a)) return undefined;
    out.push(a);
  }
  return out;
}

/**
 * The broadcast of two dims (numpy rules), or false when they cannot broadcast.
 * An unknown or symbolic dim is either 1 or the other side's size.
 */
function broadcastDim(a: ShapeDim, b: ShapeDim): ShapeDim | false {
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') return a === b ? a : false;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  if (a === null) return b;
  if (b === null) return a;
  return a === b ? a : null;
}

/** Multidirectional (numpy) broadcast of shapes, or undefined when they are incompatible. */
export function broadcastShapes(shapes: readonly Shape[]): Shape | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Shape = new Array(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = broadcastDim(out[offset + i], shape[i]);
      if (d === false) return undefined;
      out[offset + i] = d;
    }
  }
  return out;
}

/** Row-major strides of a static shape. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

/**
 * What a Slice takes along one axis of size `size`, following ONNX's clamping rules: `count`
 * indices from `first` by `step`. Computed, not listed, so that a huge axis costs nothing.
 */
export function sliceRange(size: number, start: number, end: number, step: number): { first: number; count: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const s = clamp(start < 0 ? start + size : start, 0, step > 0 ? size : size - 1);
  const e = clamp(end < 0 ? end + size : end, step > 0 ? 0 : -1, step > 0 ? size : size - 1);
  // A step of ±Infinity (an int64 beyond 2^53, see int64Element) takes the first index only.
  const count = step > 0 ? (e > s ? Math.floor((e - s - 1) / step) + 1 : 0) : s > e ? Math.floor((s - e - 1) / -step) + 1 : 0;
  return { first: s, count };
}

/** The indices a Slice takes along one axis of size `size` (see sliceRange). */
export function sliceIndices(size: number, start: number, end: number, step: number): number[] {
  const { first, count } = sliceRange(size, start, end, step);
  return Array.from({ length: count }, (_, k) => (k === 0 ? first : first + k * step));
}
