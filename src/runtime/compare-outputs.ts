import { DataType, NumericArray, dataTypeName, isFloatType } from '../ir/dtype.js';
import { float16ArrayToNumbers } from '../ir/float16.js';
import { Tensor, isNumeric } from '../ir/tensor.js';
import { formatShape } from '../ir/types.js';

/** An output passes when `max|a − b| ≤ atol + rtol · max|a|` (docs/verification.md); `a` is the reference. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-4 };

/** How one output of a candidate model compares with the same output of the reference model. */
export interface OutputComparison {
  name: string;
  /** Data type and shape of the reference output. */
  dataType: string;
  shape: number[];
  /** Integer, bool and string outputs must be equal; float outputs within tolerance. */
  exact: boolean;
  /** max |a − b| over the positions where both are finite. */
  maxAbsDiff: number;
  /** max |a − b| / |a| over the positions where both are finite and a ≠ 0. */
  maxRelDiff: number;
  /** max |a| over the finite elements of the reference. */
  maxAbsReference: number;
  /** The largest |a − b| that passes: atol + rtol · maxAbsReference, or 0 for exact outputs. */
  allowed: number;
  /** Elements that differ by more than `allowed`, including `nonFiniteMismatches`. */
  mismatches: number;
  /** Positions where NaN or ±Inf is not matched by the same value in the other output. */
  nonFiniteMismatches: number;
  pass: boolean;
  /** Why the output fails, when it does. */
  reason?: string;
}

export function compareOutputs(a: Tensor, b: Tensor, tolerance: Tolerance): OutputComparison {
  const base = {
    name: a.name,
    dataType: dataTypeName(a.dataType),
    shape: a.dims,
    exact: !isFloatType(a.dataType),
    maxAbsDiff: 0,
    maxRelDiff: 0,
    maxAbsReference: 0,
    allowed: 0,
    mismatches: 0,
    nonFiniteMismatches: 0,
  };
  if (a.dataType !== b.dataType) {
    return { ...base, pass: false, reason: `data type ${dataTypeName(a.dataType)} vs ${dataTypeName(b.dataType)}` };
  }
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
    return { ...base, pass: false, reason: `shape ${formatShape(a.dims)} vs ${formatShape(b.dims)}` };
  }
  const stats = elementStats(a, b, tolerance);
  const result = { ...base, ...stats, pass: stats.mismatches === 0 };
  return result.pass ? result : { ...result, reason: failureReason(result, a.data.length) };
}

type Stats = Pick<
  OutputComparison,
  'maxAbsDiff' | 'maxRelDiff' | 'maxAbsReference' | 'allowed' | 'mismatches' | 'nonFiniteMismatches'
>;

/** `a` and `b` have the same data type and shape. */
function elementStats(a: Tensor, b: Tensor, tolerance: Tolerance): Stats {
  if (!isNumeric(a) || !isNumeric(b)) return compareStrings(a.data as Uint8Array[], b.data as Uint8Array[]);
  if (!isFloatType(a.dataType)) return compareExactly(a.data, b.data);
  return compareFloats(floatValues(a.dataType, a.data), floatValues(b.dataType, b.data), tolerance);
}

function floatValues(type: DataType, data: NumericArray): ArrayLike<number> {
  return type === DataType.FLOAT16 ? float16ArrayToNumbers(data as Uint16Array) : (data as ArrayLike<number>);
}

function compareFloats(a: ArrayLike<number>, b: ArrayLike<number>, { atol, rtol }: Tolerance): Stats {
  let maxAbsReference = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i])) maxAbsReference = Math.max(maxAbsReference, Math.abs(a[i]));
  }
  const allowed = atol + rtol * maxAbsReference;
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let beyond = 0;
  let nonFiniteMismatches = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const diff = Math.abs(x - y);
    if (!Number.isFinite(diff)) {
      nonFiniteMismatches++;
      continue;
    }
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    // Capped so that the report stays valid JSON when |a| is a tiny subnormal.
    if (x !== 0) maxRelDiff = Math.max(maxRelDiff, Math.min(diff / Math.abs(x), Number.MAX_VALUE));
    if (diff > allowed) beyond++;
  }
  return { maxAbsDiff, maxRelDiff, maxAbsReference, allowed, mismatches: beyond + nonFiniteMismatches, nonFiniteMismatches };
}

/** Integers (also int64 as bigint) and bools: any difference is a mismatch. */
function compareExactly(a: NumericArray, b: NumericArray): Stats {
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let maxAbsReference = 0;
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    maxAbsReference = Math.max(maxAbsReference, Math.abs(x));
    if (a[i] === b[i]) continue;
    mismatches++;
    const diff = Math.abs(x - Number(b[i]));
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    if (x !== 0) maxRelDiff = Math.max(maxRelDiff, diff / Math.abs(x));
  }
  return { maxAbsDiff, maxRelDiff, maxAbsReference, allowed: 0, mismatches, nonFiniteMismatches: 0 };
}

function compareStrings(a: Uint8Array[], b: Uint8Array[]): Stats {
  const mismatches = a.filter((s, i) => Buffer.compare(s, b[i]) !== 0).length;
  return { maxAbsDiff: 0, maxRelDiff: 0, maxAbsReference: 0, allowed: 0, mismatches, nonFiniteMismatches: 0 };
}

function failureReason(c: OutputComparison, elements: number): string {
  if (c.exact) return `${c.mismatches} of ${elements} elements differ`;
  const parts: string[] = [];
  const beyond = c.mismatches - c.nonFiniteMismatches;
  if (beyond) parts.push(`${beyond} of ${elements} elements differ by more than ${c.allowed.toExponential(2)}`);
  if (c.nonFiniteMismatches) parts.push(`${c.nonFiniteMismatches} NaN/Inf positions differ`);
  return parts.join('; ');
}
