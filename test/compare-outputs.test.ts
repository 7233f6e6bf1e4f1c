import { describe, expect, it } from 'vitest';
import { DataType, NumericArray } from '../src/ir/dtype.js';
import { float16BitsToNumber, numberToFloat16Bits } from '../src/ir/float16.js';
import { Tensor, makeTensor } from '../src/ir/tensor.js';
import { DEFAULT_TOLERANCE, compareOutputs } from '../src/runtime/compare-outputs.js';

const tensor = (dataType: DataType, data: NumericArray, dims = [data.length]): Tensor =>
  makeTensor('y', dataType, dims, data);
const floats = (...values: number[]) => tensor(DataType.FLOAT, Float32Array.from(values));
const compare = (a: Tensor, b: Tensor, tolerance = DEFAULT_TOLERANCE) => compareOutputs(a, b, tolerance);

describe('output comparison', () => {
  it('passes when max|a-b| <= atol + rtol * max|a|, and reports the differences', () => {
    const result = compare(floats(1, -10, 0), floats(1.0005, -10, 0.0001), { atol: 1e-4, rtol: 1e-4 });
    expect(result.allowed).toBeCloseTo(1e-4 + 1e-4 * 10, 12);
    expect(result.maxAbsReference).toBe(10);
    expect(result.maxAbsDiff).toBeCloseTo(5e-4, 6);
    expect(result.maxRelDiff).toBeCloseTo(5e-4, 6);
    expect(result).toMatchObject({ pass: true, mismatches: 0, exact: false });

    const strict = compare(floats(1, -10, 0), floats(1.0005, -10, 0.0001), { atol: 1e-4, rtol: 0 });
    expect(strict).toMatchObject({ pass: false, mismatches: 1, reason: '1 of 3 elements differ by more than 1.00e-4' });
  });

  it('counts NaN in both at the same position as equal, and NaN or Inf in one only as a failure', () => {
    expect(compare(floats(NaN, Infinity, 1), floats(NaN, Infinity, 1))).toMatchObject({ pass: true, maxAbsDiff: 0 });
    const result = compare(floats(NaN, 1, Infinity, 2), floats(1, NaN, 5, -Infinity));
    expect(result).toMatchObject({ pass: false, mismatches: 4, nonFiniteMismatches: 4, maxAbsDiff: 0, maxAbsReference: 2 });
    expect(result.reason).toBe('4 NaN/Inf positions differ');
  });

  it('compares integer and bool outputs exactly', () => {
    const ints = (...v: bigint[]) => tensor(DataType.INT64, BigInt64Array.from(v));
    expect(compare(ints(1n, 2n), ints(1n, 2n))).toMatchObject({ pass: true, exact: true, allowed: 0 });
    expect(compare(ints(1n, 2n), ints(1n, 3n), { atol: 10, rtol: 10 })).toMatchObject({
      pass: false,
      maxAbsDiff: 1,
      reason: '1 of 2 elements differ',
    });
    const bools = (...v: number[]) => tensor(DataType.BOOL, Uint8Array.from(v));
    expect(compare(bools(0, 1), bools(1, 1))).toMatchObject({ pass: false, mismatches: 1 });
  });

  it('decodes float16 outputs before comparing', () => {
    const halves = (...v: number[]) => tensor(DataType.FLOAT16, Uint16Array.from(v, numberToFloat16Bits));
    // 1 and 1.0009765625 are neighbouring float16 values: their bit patterns differ by 1.
    expect(compare(halves(1), halves(1.0009765625), { atol: 0.002, rtol: 0 })).toMatchObject({ pass: true });
    expect(compare(halves(1), halves(1.0009765625), { atol: 0.0005, rtol: 0 })).toMatchObject({ pass: false });
  });

  it('fails outputs whose shape or data type differ', () => {
    expect(compare(floats(1, 2), tensor(DataType.FLOAT, Float32Array.of(1, 2), [1, 2]))).toMatchObject({
      pass: false,
      reason: 'shape [2] vs [1, 2]',
    });
    expect(compare(floats(1), tensor(DataType.DOUBLE, Float64Array.of(1)))).toMatchObject({
      pass: false,
      reason: 'data type float32 vs float64',
    });
  });
});

describe('float16 conversion', () => {
  it('round-trips every float16 bit pattern, NaNs as NaN', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToNumber(bits);
      if (Number.isNaN(value)) expect(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(value)))).toBe(true);
      else expect(numberToFloat16Bits(value)).toBe(bits);
    }
  });

  it('rounds to nearest, ties to even, and overflows to infinity', () => {
    expect(float16BitsToNumber(numberToFloat16Bits(1 + 2 ** -11))).toBe(1); // tie: down to even
    expect(float16BitsToNumber(numberToFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie: up to even
    expect(float16BitsToNumber(numberToFloat16Bits(65520))).toBe(Infinity);
    expect(float16BitsToNumber(numberToFloat16Bits(2 ** -25))).toBe(0);
    expect(float16BitsToNumber(numberToFloat16Bits(3 * 2 ** -26))).toBe(2 ** -24);
  });
});
