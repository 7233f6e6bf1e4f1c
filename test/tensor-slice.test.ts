/** src/ir/tensor-slice.ts: the one home of slice arithmetic, against a plain multi-index walk. */
import { describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import { elementCount, makeTensor } from '../src/ir/tensor.js';
import {
  keptDims,
  keptOffsets,
  selectionOffsets,
  sliceOffsets,
  withoutIndices,
  zeroSlice,
  zeroSlices,
  type AxisCuts,
} from '../src/ir/tensor-slice.js';
import { Rng } from '../src/util/random.js';

/** Every flat offset of a tensor of `dims` with its multi-index, in row-major order. */
function* indexed(dims: readonly number[]): Generator<[number, number[]]> {
  const index = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < elementCount(dims); flat++) {
    yield [flat, [...index]];
    for (let axis = dims.length - 1; axis >= 0 && ++index[axis] === dims[axis]; axis--) index[axis] = 0;
  }
}

const rng = new Rng(11);
/** Random dims of rank 0 to 4 and random cuts on some axes (sometimes all of an axis). */
const cases = Array.from({ length: 60 }, () => {
  const dims = Array.from({ length: rng.int(5) }, () => 1 + rng.int(4));
  const cuts = new Map<number, Set<number>>();
  dims.forEach((d, axis) => {
    if (rng.uniform(0, 1) < 0.5) cuts.set(axis, new Set(Array.from({ length: d }, (_, i) => i).filter(() => rng.uniform(0, 1) < 0.4)));
  });
  return { dims, cuts: cuts as AxisCuts };
});

describe('slice arithmetic', () => {
  it('keptOffsets lists the flat offsets that survive cuts along several axes', () => {
    // dims [2, 3, 2]: cut index 1 of axis 1 and index 0 of axis 0.
    const cuts = new Map([[1, new Set([1])], [0, new Set([0])]]);
    expect([...keptOffsets([2, 3, 2], cuts)]).toEqual([6, 7, 10, 11]);
    expect([...keptOffsets([4], new Map())]).toEqual([0, 1, 2, 3]);
  });

  it.each(cases)('dims $dims: kept offsets and dims, slice offsets', ({ dims, cuts }) => {
    const survives = (index: number[]) => index.every((i, axis) => !cuts.get(axis)?.has(i));
    const kept = [...indexed(dims)].filter(([, index]) => survives(index)).map(([flat]) => flat);
    expect([...keptOffsets(dims, cuts)]).toEqual(kept);
    expect(elementCount(keptDims(dims, cuts))).toBe(kept.length);
    dims.forEach((d, axis) => {
      for (let i = 0; i < d; i++) {
        const slice = [...indexed(dims)].filter(([, index]) => index[axis] === i).map(([flat]) => flat);
        expect([...sliceOffsets(dims, axis, i)]).toEqual(slice);
      }
    });
  });

  it.each(cases)('dims $dims: a selection in any order, with repeats, as Gather and Slice pick', ({ dims }) => {
    // Per axis: all indices reversed, a random pick with repeats, or all in order.
    const picks = dims.map((d, axis) =>
      axis % 3 === 0 ? Array.from({ length: d }, (_, i) => d - 1 - i) : axis % 3 === 1 ? Array.from({ length: 3 }, () => rng.int(d)) : Array.from({ length: d }, (_, i) => i),
    );
    const position = new Map([...indexed(dims)].map(([flat, index]) => [index.join(), flat]));
    const expected = [...indexed(picks.map((p) => p.length))].map(([, at]) => position.get(at.map((k, axis) => picks[axis][k]).join())!);
    expect([...selectionOffsets(dims, picks)]).toEqual(expected);
  });

  it.each(cases.filter((c) => c.dims.length > 0))('dims $dims: cutting, zeroing and finding zero slices of a tensor', ({ dims, cuts }) => {
    const data = Float32Array.from({ length: elementCount(dims) }, (_, i) => i + 1);
    let t = makeTensor('t', DataType.FLOAT, dims, data);
    for (const [axis, drop] of cuts) t = withoutIndices(t, axis, drop);
    expect([...(t.data as Float32Array)]).toEqual([...keptOffsets(dims, cuts)].map((j) => data[j]));
    expect(t.dims).toEqual(keptDims(dims, cuts));

    const z = makeTensor('z', DataType.INT64, dims, BigInt64Array.from(data, (x) => BigInt(x)));
    const axis = dims.length - 1;
    zeroSlice(z, axis, 0);
    const zero = new Set(sliceOffsets(dims, axis, 0));
    expect([...(z.data as BigInt64Array)].map(Number)).toEqual([...data].map((x, j) => (zero.has(j) ? 0 : x)));
    expect(zeroSlices(z, axis)).toEqual(Array.from({ length: dims[axis] }, (_, i) => i === 0));
  });
});
