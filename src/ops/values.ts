import { DataType } from '../ir/dtype.js';
import { elementCount, isNumeric, type Tensor } from '../ir/tensor.js';
import { selectionOffsets } from '../ir/tensor-slice.js';
import type { Shape } from '../ir/types.js';
import { isStaticShape, product, strides } from './shape-math.js';
import type { Element, ValueFacts } from './spec.js';

/** Values with more elements than this are not folded: shape arithmetic needs only short vectors. */
export const MAX_FOLDED_ELEMENTS = 1024;

const INTEGER_TYPES = new Set<DataType>([
  DataType.INT8,
  DataType.INT16,
  DataType.INT32,
  DataType.INT64,
  DataType.UINT8,
  DataType.UINT16,
  DataType.UINT32,
  DataType.UINT64,
]);

/** Types whose in-memory array holds the element values themselves (not float16 bits or packed nibbles). */
const FOLDABLE_TYPES = new Set<DataType>([...INTEGER_TYPES, DataType.FLOAT, DataType.DOUBLE, DataType.BOOL]);

/** Typed arrays that wrap a truncated number the way a C cast to that type does. */
const WRAPPING_ARRAYS: Partial<Record<DataType, { from(values: number[]): ArrayLike<number> }>> = {
  [DataType.INT8]: Int8Array,
  [DataType.INT16]: Int16Array,
  [DataType.INT32]: Int32Array,
  [DataType.UINT8]: Uint8Array,
  [DataType.UINT16]: Uint16Array,
  [DataType.UINT32]: Uint32Array,
};

export function isIntegerType(type: DataType): boolean {
  return INTEGER_TYPES.has(type);
}

/** Facts about a constant tensor (initializer or Constant attribute): its type, dims and, when small, its values. */
export function tensorFacts(t: Tensor): ValueFacts {
  const facts: ValueFacts = { elemType: t.dataType, shape: [...t.dims] };
  if (FOLDABLE_TYPES.has(t.dataType) && isNumeric(t) && elementCount(t.dims) <= MAX_FOLDED_ELEMENTS) {
    facts.value = Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? int64Element(v) : v));
  }
  return facts;
}

/**
 * A 64-bit integer as an element of shape arithmetic. One beyond ±(2^53 − 1), which a JS number
 * cannot hold exactly, is ±Infinity: larger than any size, which is all shape arithmetic needs
 * of it (PyTorch's Slice end INT64_MAX), and never written back into a tensor (see toInt64),
 * while arithmetic on it gives no folded value at all rather than a wrong one.
 */
export function int64Element(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return -Infinity;
  return Number(v);
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * An element of shape arithmetic written back as an int64 (a rewritten Slice bound): ±Infinity
 * and anything beyond the int64 range become INT64_MAX or INT64_MIN, which mean the same to
 * every op that clamps (BigInt alone would throw on Infinity, and wrap 2^63 to INT64_MIN).
 */
export function toInt64(x: number): bigint {
  if (Number.isNaN(x)) throw new Error('internal: NaN written as an int64');
  if (x >= 2 ** 63) return INT64_MAX;
  if (x <= -(2 ** 63)) return INT64_MIN;
  return BigInt(Math.trunc(x));
}

/** Facts with a folded value, when the type can be folded and the value is small enough. */
export function valueFacts(elemType: DataType, shape: number[], value: readonly Element[] | undefined): ValueFacts {
  const foldable = value !== undefined && FOLDABLE_TYPES.has(elemType) && value.length <= MAX_FOLDED_ELEMENTS;
  return foldable ? { elemType, shape, value } : { elemType, shape };
}

/** The folded value of a fact when every element is a known number. */
export function numbers(facts: ValueFacts | undefined): number[] | undefined {
  const v = facts?.value;
  return v && v.every((e): e is number => typeof e === 'number') ? [...v] : undefined;
}

/** The single number of a folded scalar (or one-element tensor). */
export function scalar(facts: ValueFacts | undefined): number | undefined {
  const v = numbers(facts);
  return v?.length === 1 ? v[0] : undefined;
}

/**
 * A number converted to `type` as a C cast does (float32 rounding, integer truncation and
 * wrap-around, booleans as 0/1). Symbolic dims survive only integer types; results that
 * are not representable are unknown.
 */
export function castElement(x: Element, type: DataType): Element {
  if (typeof x !== 'number') return typeof x === 'string' && isIntegerType(type) ? x : null;
  if (type === DataType.FLOAT) return Math.fround(x);
  if (type === DataType.DOUBLE) return x;
  if (type === DataType.BOOL) return x !== 0 ? 1 : 0;
  if (!isIntegerType(type) || !Number.isFinite(x)) return null;
  const wrap = WRAPPING_ARRAYS[type];
  return wrap ? wrap.from([Math.trunc(x)])[0] : Math.trunc(x);
}

/**
 * Fold an element-wise op over inputs with known values, broadcasting them to `outShape`.
 * Undefined when an input value is unknown or the output is too large to fold.
 */
export function foldElementwise(
  inputs: readonly (ValueFacts | undefined)[],
  outShape: Shape | undefined,
  fn: (...elements: Element[]) => Element,
): Element[] | undefined {
  if (!isStaticShape(outShape) || outShape.some((d) => d < 0) || product(outShape) > MAX_FOLDED_ELEMENTS) return undefined;
  if (!inputs.every((f) => f?.value !== undefined && isStaticShape(f.shape))) return undefined;
  const outStrides = strides(outShape);
  const inputStrides = inputs.map((f) => {
    const shape = f!.shape as number[];
    const own = strides(shape);
    const offset = outShape.length - shape.length;
    // A broadcast axis (size 1 against a larger output) re-reads the same element: stride 0.
    return outShape.map((d, axis) => (axis < offset || shape[axis - offset] !== d ? 0 : own[axis - offset]));
  });
  const count = product(outShape);
  const out = new Array<Element>(count);
  for (let flat = 0; flat < count; flat++) {
    const args = inputs.map((f, k) => {
      let at = 0;
      for (let axis = 0; axis < outShape.length; axis++) {
        at += Math.floor(flat / outStrides[axis]) % outShape[axis] * inputStrides[k][axis];
      }
      return f!.value![at];
    });
    out[flat] = fn(...args);
  }
  return out;
}

/** Wrap a numeric function so that any symbolic or unknown operand gives an unknown result. */
export function onNumbers(fn: (...xs: number[]) => number): (...elements: Element[]) => Element {
  return (...elements) => (elements.every((e): e is number => typeof e === 'number') ? fn(...elements) : null);
}

/**
 * The elements of a static-shape value picked by one index list per axis (a cartesian
 * selection, as Slice and Gather do), in row-major order.
 */
export function selectElements(value: readonly Element[], shape: readonly number[], picks: readonly number[][]): Element[] {
  return Array.from(selectionOffsets(shape, picks), (o) => value[o]);
}
