import { DataType } from '../ir/dtype.js';
import { attrInt, attrInts } from '../ir/attributes.js';
import { axisView } from '../ir/tensor-slice.js';
import { formatShape, type Shape } from '../ir/types.js';
import { INDEX_TYPES, allInputs, checkInputType, checkSameTypes, checkedAxes, checkedAxis, facts, invalidNode, listArgument } from './rules.js';
import { isStaticShape, product, sliceIndices, sliceRange, type ShapeDim } from './shape-math.js';
import type { Element, NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { MAX_FOLDED_ELEMENTS, numbers, selectElements, valueFacts } from './values.js';
import { concatChannels, gatherChannels, sliceChannels, slicePrune, splitChannels, splitPrune } from './channels/indexing.js';

/** Concat: equal ranks, sizes along `axis` add up; known values are joined. */
const concat: ShapeRule = (n) => {
  const inputs = allInputs(n);
  const elemType = n.input(0)?.elemType;
  if (elemType === undefined) return [undefined];
  checkSameTypes(n);
  const ranks = n.node.inputs.map((_, i) => n.input(i)?.shape?.length).filter((r) => r !== undefined);
  if (ranks.some((r) => r !== ranks[0])) throw invalidNode(n.node, `its inputs have different ranks (${ranks.join(', ')})`);
  if (ranks.length) checkedAxis(n, attrInt(n.node, 'axis', 0), ranks[0]);
  if (!inputs || inputs.length === 0 || inputs.some((f) => !f.shape)) return [{ elemType }];
  const shapes = inputs.map((f) => f.shape!);
  const rank = shapes[0].length;
  const axis = checkedAxis(n, attrInt(n.node, 'axis', 0), rank);
  const sizes = shapes.map((s) => s[axis]);
  const out: Shape = shapes[0].map((_, i) => {
    if (i === axis) return sizes.every((d): d is number => typeof d === 'number') ? sizes.reduce((a, b) => a + b, 0) : null;
    const known = shapes.map((s) => s[i]).filter((d): d is number => typeof d === 'number');
    if (known.some((d) => d !== known[0])) {
      throw invalidNode(n.node, `its inputs ${shapes.map(formatShape).join(', ')} differ on axis ${i}, which is not the concat axis ${axis}`);
    }
    return shapes.map((s) => s[i]).find((d) => d !== null) ?? null;
  });
  if (!isStaticShape(out) || !inputs.every((f) => f.value)) return [facts(elemType, out)];
  // Row-major: for each index before the axis, each input's block of (size along axis × inner) elements in turn.
  const { outer, inner } = axisView(out, axis);
  const value: Element[] = [];
  for (let o = 0; o < outer; o++) {
    for (const f of inputs) {
      const block = (f.shape![axis] as number) * inner;
      value.push(...f.value!.slice(o * block, (o + 1) * block));
    }
  }
  return [valueFacts(elemType, out, value)];
};

/**
 * Split along `axis`: sizes from the `split` attribute (before opset 13) or input 1, else
 * equal parts, one per output (from opset 18 `num_outputs` parts, the last one smaller).
 */
const split: ShapeRule = (n) => {
  const x = n.input(0);
  const outputs = n.node.outputs.length;
  if (!x) return [];
  const unknown = new Array(outputs).fill({ elemType: x.elemType });
  if (!x.shape) return unknown;
  const axis = checkedAxis(n, attrInt(n.node, 'axis', 0), x.shape.length);
  const total = x.shape[axis];
  let sizes: (number | null)[] | undefined;
  if (n.opset < 13) sizes = attrInts(n.node, 'split');
  else if (n.node.input(1)) sizes = numbers(n.input(1)) ?? new Array(outputs).fill(null);
  if (!sizes) {
    if (typeof total !== 'number') sizes = new Array(outputs).fill(null);
    else if (n.opset >= 18 && attrInt(n.node, 'num_outputs') !== undefined) {
      const chunk = Math.ceil(total / outputs);
      sizes = Array.from({ length: outputs }, (_, i) => Math.max(Math.min(chunk, total - i * chunk), 0));
    } else sizes = new Array(outputs).fill(total / outputs);
  }
  const known = sizes.filter((d): d is number => d !== null);
  const whole = known.length === sizes.length && (typeof total !== 'number' || known.reduce((a, b) => a + b, 0) === total);
  const fits = known.every((d) => Number.isInteger(d) && d >= 0) && (known.length < sizes.length || whole);
  if (sizes.length !== outputs || !fits) {
    throw invalidNode(n.node, `split sizes [${sizes.map((d) => d ?? '?')}] do not cut axis ${axis} (size ${total ?? '?'}) into its ${outputs} outputs`);
  }
  return sizes.map((s) => facts(x.elemType, x.shape!.map((d, i) => (i === axis ? s : d))));
};

interface SliceArguments {
  axes: number[];
  /** Undefined when the starts, ends or steps are not known. */
  bounds?: { starts: number[]; ends: number[]; steps: number[] };
}

/**
 * Slice's starts, ends, axes and steps: attributes before opset 10, inputs 1–4 from then
 * on. 'unknown' when even the sliced axes are not known; undefined for a malformed node.
 */
function sliceArguments(n: NodeFacts, rank: number): SliceArguments | 'unknown' | undefined {
  const [starts, ends, axes, steps] = ['starts', 'ends', 'axes', 'steps'].map((name, i) => listArgument(n, name, 10, i + 1));
  if (starts === 'absent' || ends === 'absent') return undefined;
  if (axes === 'unknown' || (axes === 'absent' && starts === 'unknown')) return 'unknown';
  const normalized = checkedAxes(n, axes === 'absent' ? (starts as number[]).map((_, i) => i) : axes, rank);
  if (starts === 'unknown' || ends === 'unknown' || steps === 'unknown') return { axes: normalized };
  const stepList = steps === 'absent' ? starts.map(() => 1) : steps;
  const lengths = [ends.length, stepList.length, normalized.length];
  if (lengths.some((l) => l !== starts.length)) {
    throw invalidNode(n.node, `starts, ends, axes and steps have different lengths (${[starts.length, ...lengths].join(', ')})`);
  }
  if (stepList.includes(0)) throw invalidNode(n.node, `steps [${stepList}] must not be 0`);
  return { axes: normalized, bounds: { starts, ends, steps: stepList } };
}

/** Slice: per listed axis, the elements from start to end by step; known values are sliced too. */
const slice: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  if (!x.shape) return [{ elemType: x.elemType }];
  const shape = x.shape;
  const args = sliceArguments(n, shape.length);
  if (args === undefined) throw invalidNode(n.node, 'starts and ends are required');
  if (args === 'unknown') return [facts(x.elemType, shape.map(() => null))];
  const bounds = args.bounds;
  if (!bounds) return [facts(x.elemType, shape.map((d, i) => (args.axes.includes(i) ? null : d)))];
  const out: Shape = [...shape];
  args.axes.forEach((axis, i) => {
    const d = shape[axis];
    const [start, end, step] = [bounds.starts[i], bounds.ends[i], bounds.steps[i]];
    if (typeof d === 'number') {
      out[axis] = sliceRange(d, start, end, step).count;
    } else {
      // The whole of an axis of unknown size is that size.
      const whole = start === 0 && step === 1 && end >= Number.MAX_SAFE_INTEGER;
      out[axis] = whole ? d : null;
    }
  });
  if (!isStaticShape(shape) || !isStaticShape(out) || !x.value || product(out) > MAX_FOLDED_ELEMENTS) return [facts(x.elemType, out)];
  // A known value is small (MAX_FOLDED_ELEMENTS), so listing the indices of each axis is cheap.
  const picks = shape.map((d, axis) => {
    const i = args.axes.indexOf(axis);
    return i < 0 ? Array.from({ length: d }, (_, k) => k) : sliceIndices(d, bounds.starts[i], bounds.ends[i], bounds.steps[i]);
  });
  return [valueFacts(x.elemType, out, selectElements(x.value, shape, picks))];
};

/** Gather: data[:axis] + indices.shape + data[axis+1:]; known values are gathered. */
const gather: ShapeRule = (n) => {
  const data = n.input(0);
  const indices = n.input(1);
  if (!data) return [undefined];
  checkInputType(n, 1, INDEX_TYPES, 'the indices');
  const axis = data.shape && checkedAxis(n, attrInt(n.node, 'axis', 0), data.shape.length);
  if (!data.shape || !indices?.shape || axis === undefined) return [{ elemType: data.elemType }];
  const out = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const picked = numbers(indices);
  const size = data.shape[axis];
  const outside = typeof size === 'number' ? picked?.find((i) => i < -size || i >= size) : undefined;
  if (outside !== undefined) throw invalidNode(n.node, `index ${outside} is out of range for axis ${axis} of size ${size}`);
  const foldable =
    isStaticShape(data.shape) && isStaticShape(out) && data.value && picked && typeof size === 'number' && product(out) <= MAX_FOLDED_ELEMENTS;
  if (!foldable) return [facts(data.elemType, out)];
  const picks = data.shape.map((d, i) => (i === axis ? picked.map((p) => (p < 0 ? p + size : p)) : Array.from({ length: d as number }, (_, k) => k)));
  return [valueFacts(data.elemType, out, selectElements(data.value!, data.shape as number[], picks))];
};

/** GatherND: indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:]. */
const gatherND: ShapeRule = (n) => {
  const data = n.input(0);
  const indices = n.input(1)?.shape;
  if (!data) return [undefined];
  const depth = indices?.[indices.length - 1];
  const batchDims = attrInt(n.node, 'batch_dims', 0);
  if (!data.shape || !indices || typeof depth !== 'number') return [{ elemType: data.elemType }];
  return [facts(data.elemType, [...indices.slice(0, -1), ...data.shape.slice(batchDims + depth)])];
};

/** The output has the shape of input `index` and the type of the data (input 0). */
function shapeOfInput(index: number): ShapeRule {
  return (n) => {
    const data = n.input(0);
    return [data && facts(data.elemType, n.input(index)?.shape)];
  };
}

/** NonZero: int64 [rank, count], the count data-dependent. */
const nonZero: ShapeRule = (n) => {
  const rank: ShapeDim | undefined = n.input(0)?.shape?.length;
  return [facts(DataType.INT64, rank === undefined ? undefined : [rank, null])];
};

export const indexingOps: OpSpec[] = [
  { opType: 'Concat', domain: '', infer: concat, channels: concatChannels },
  { opType: 'Split', domain: '', infer: split, channels: splitChannels, prune: splitPrune },
  { opType: 'Slice', domain: '', infer: slice, channels: sliceChannels, prune: slicePrune },
  { opType: 'Gather', domain: '', infer: gather, channels: gatherChannels },
  { opType: 'GatherElements', domain: '', infer: shapeOfInput(1) },
  { opType: 'GatherND', domain: '', infer: gatherND },
  ...['Scatter', 'ScatterElements', 'ScatterND'].map((opType): OpSpec => ({ opType, domain: '', infer: shapeOfInput(0) })),
  { opType: 'NonZero', domain: '', infer: nonZero },
];
