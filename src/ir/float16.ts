// Node 20 has no Float16Array: float16 tensors are Uint16Arrays of IEEE 754 half-precision bits.

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The nearest float16 (ties to even) of `x`, as bits. */
export function numberToFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = f32Bits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff - 127 + 15) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    // Subnormal: shift the mantissa (with its implicit leading 1) into the 10 fraction bits.
    return sign | roundShift(mantissa | 0x800000, 14 - exponent);
  }
  // A rounding carry may ripple into the exponent: that is the correct next float16 (or infinity).
  return sign | ((exponent << 10) + roundShift(mantissa, 13));
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && kept & 1) ? kept + 1 : kept;
}

export function float16ArrayToNumbers(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, float16BitsToNumber);
}
