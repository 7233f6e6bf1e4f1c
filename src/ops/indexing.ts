import { DataType } from '../ir/dtype.js';
import { attrInt, attrInts } from '../ir/attributes.js';
import { axisView } from '../ir/tensor-slice.js';
import type { Shape } from '../ir/types.js';
import { allInputs, facts, listArgument } from './rules.js';
import { isStaticShape, normalizeAxes, normalizeAxis, product, type ShapeDim } from './shape-math.js';
import type { Element, NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { MAX_FOLDED_ELEMENTS, numbers, selectElements, valueFacts } from './values.js';
import { concatChannels, gatherChannels, sliceChannels, splitChannels } from './channels/layout.js';
import { slicePrune, splitPrune } from './channels/rewrites.js';
import { concatTfjs, gatherTfjs, sliceTfjs, splitTfjs } from './tfjs/indexing.js';

/** Concat: equal ranks, sizes along `axis` add up; known values are joined. */
const concat: ShapeRule = (n) => {
  const inputs = allInputs(n);
  const elemType = n.input(0)?.elemType;
  if (elemType === undefined) return [undefined];
  if (!inputs || inputs.length === 0 || inputs.some((f) => !f.shape)) return [{ elemType }];
  const shapes = inputs.map((f) => f.shape!);
  const rank = shapes[0].length;
  const axis = normalizeAxis(attrInt(n.node, 'axis', 0), rank);
  if (axis === undefined || shapes.some((s) => s.length !== rank)) return [{ elemType }];
  const sizes = shapes.map((s) => s[axis]);
  const out: Shape = shapes[0].map((_, i) => {
    if (i === axis) return sizes.every((d): d is number => typeof d === 'number') ? sizes.reduce((a, b) => a + b, 0) : null;
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
  const axis = x.shape && normalizeAxis(attrInt(n.node, 'axis', 0), x.shape.length);
  if (!x.shape || axis === undefined) return unknown;
  const total = x.shape[axis];
  let sizes: (number | null)[] | undefined;
  if (n.opset < 13) sizes = attrInts(n.node, 'split');
  else if (n.node.input(1)) sizes = numbers(n.input(1)) ?? new Array(outputs).fill(null);
  if (!sizes) {
    if (typeof total !== 'number') sizes = new Array(outputs).fill(null);
    else if (n.opset >= 18 && attrInt(n.node, 'num_outputs') !== undefined) {
      const chunk = Math.ceil(total / outputs);
      sizes = Array.from({ length: outputs }, (_, i) => Math.max(Math.min(chunk, total - i * chunk), 0));
    } else sizes = total % outputs === 0 ? new Array(outputs).fill(total / outputs) : undefined;
  }
  if (!sizes || sizes.length !== outputs) return unknown;
  return sizes.map((s) => facts(x.elemType, x.shape!.map((d, i) => (i === axis ? s : d))));
};

/** The indices a Slice takes along one axis of size `size`, following ONNX's clamping rules. */
export function sliceIndices(size: number, start: number, end: number, step: number): number[] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const s = clamp(start < 0 ? start + size : start, 0, step > 0 ? size : size - 1);
  const e = clamp(end < 0 ? end + size : end, step > 0 ? 0 : -1, step > 0 ? size : size - 1);
  const out: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

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
  const normalized = normalizeAxes(axes === 'absent' ? (starts as number[]).map((_, i) => i) : axes, rank);
  if (!normalized) return undefined;
  if (starts === 'unknown' || ends === 'unknown' || steps === 'unknown') return { axes: normalized };
  const stepList = steps === 'absent' ? starts.map(() => 1) : steps;
  const lengths = [ends.length, stepList.length, normalized.length];
  if (lengths.some((l) => l !== starts.length) || stepList.includes(0)) return undefined;
  return { axes: normalized, bounds: { starts, ends, steps: stepList } };
}

/** Slice: per listed axis, the elements from start to end by step; known values are sliced too. */
const slice: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  if (!x.shape) return [{ elemType: x.elemType }];
  const shape = x.shape;
  const args = sliceArguments(n, shape.length);
  if (args === undefined) return [{ elemType: x.elemType }];
  if (args === 'unknown') return [facts(x.elemType, shape.map(() => null))];
  const bounds = args.bounds;
  if (!bounds) return [facts(x.elemType, shape.map((d, i) => (args.axes.includes(i) ? null : d)))];
  const picks: (number[] | null)[] = shape.map((d) => (typeof d === 'number' ? Array.from({ length: d }, (_, i) => i) : null));
  const out: Shape = [...shape];
  args.axes.forEach((axis, i) => {
    const d = shape[axis];
    const [start, end, step] = [bounds.starts[i], bounds.ends[i], bounds.steps[i]];
    if (typeof d === 'number') {
      picks[axis] = sliceIndices(d, start, end, step);
      out[axis] = picks[axis]!.length;
    } else {
      // The whole of an axis of unknown size is that size.
      const whole = start === 0 && step === 1 && end >= Number.MAX_SAFE_INTEGER;
      out[axis] = whole ? d : null;
    }
  });
  const foldable = isStaticShape(shape) && isStaticShape(out) && x.value && product(out) <= MAX_FOLDED_ELEMENTS;
  return [foldable ? valueFacts(x.elemType, out, selectElements(x.value!, shape, picks as number[][])) : facts(x.elemType, out)];
};

/** Gather: data[:axis] + indices.shape + data[axis+1:]; known values are gathered. */
const gather: ShapeRule = (n) => {
  const data = n.input(0);
  const indices = n.input(1);
  if (!data) return [undefined];
  const axis = data.shape && normalizeAxis(attrInt(n.node, 'axis', 0), data.shape.length);
  if (!data.shape || !indices?.shape || axis === undefined) return [{ elemType: data.elemType }];
  const out = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const picked = numbers(indices);
  const size = data.shape[axis];
  const foldable =
    isStaticShape(data.shape) && isStaticShape(out) && data.value && picked && typeof size === 'number' && product(out) <= MAX_FOLDED_ELEMENTS;
  if (!foldable || picked.some((i) => i < -size || i >= size)) return [facts(data.elemType, out)];
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
  { opType: 'Concat', domain: '', infer: concat, channels: concatChannels, tfjs: concatTfjs },
  { opType: 'Split', domain: '', infer: split, channels: splitChannels, prune: splitPrune, tfjs: splitTfjs },
  { opType: 'Slice', domain: '', infer: slice, channels: sliceChannels, prune: slicePrune, tfjs: sliceTfjs },
  { opType: 'Gather', domain: '', infer: gather, channels: gatherChannels, tfjs: gatherTfjs },
  { opType: 'GatherElements', domain: '', infer: shapeOfInput(1) },
  { opType: 'GatherND', domain: '', infer: gatherND },
  ...['Scatter', 'ScatterElements', 'ScatterND'].map((opType): OpSpec => ({ opType, domain: '', infer: shapeOfInput(0) })),
  { opType: 'NonZero', domain: '', infer: nonZero },
];
