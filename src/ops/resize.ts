import { attrFloats, attrInts, attrString } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { checkedAxes, facts, invalidNode } from './rules.js';
import type { ShapeDim } from './shape-math.js';
import type { NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { numbers } from './values.js';
import { resizeChannels, resizePrune } from './channels/resize.js';

/** in·scale rounded down; the product is taken in float32, as onnxruntime computes it. */
function scaled(size: ShapeDim, scale: number): ShapeDim {
  if (scale === 1) return size;
  return typeof size === 'number' ? Math.floor(Math.fround(size * Math.fround(scale))) : null;
}

/** A scales or sizes input that is present and not empty (an empty tensor stands for "not given"). */
function given(n: NodeFacts, index: number): number[] | 'unknown' | undefined {
  if (!n.node.input(index)) return undefined;
  const f = n.input(index);
  if (f?.shape?.length === 1 && f.shape[0] === 0) return undefined;
  return numbers(f) ?? 'unknown';
}

/**
 * Resize: X plus scales (opset 10: input 1) or, from opset 11, roi, scales and sizes
 * (inputs 1–3). From opset 18 they may cover only `axes`, and sizes may keep the aspect ratio.
 */
function resizeShape(n: NodeFacts, x: Shape): Shape | undefined {
  const [scalesAt, sizesAt] = n.opset >= 11 ? [2, 3] : [1, -1];
  const sizes = sizesAt > 0 ? given(n, sizesAt) : undefined;
  const scales = given(n, scalesAt);
  const mode = attrString(n.node, 'mode', 'nearest');
  if (!RESIZE_MODES.includes(mode)) throw invalidNode(n.node, `mode '${mode}' is none of ${RESIZE_MODES.join(', ')}`);
  if (sizes !== undefined && scales !== undefined) throw invalidNode(n.node, 'it has both scales and sizes; only one may be given');
  const axesAttr = n.opset >= 18 ? attrInts(n.node, 'axes') : undefined;
  const axes = axesAttr ? checkedAxes(n, axesAttr, x.length) : x.map((_, i) => i);
  const factors = sizes ?? scales;
  if (factors === undefined || factors === 'unknown') return undefined;
  if (factors.length !== axes.length) {
    throw invalidNode(n.node, `${sizes ? 'sizes' : 'scales'} [${factors}] must hold one value per resized axis (${axes.length})`);
  }
  if (factors.some((f) => !(sizes ? f >= 0 : f > 0))) throw invalidNode(n.node, `${sizes ? 'sizes' : 'scales'} [${factors}] must be positive`);
  const out = [...x];
  if (sizes === undefined) {
    axes.forEach((axis, i) => (out[axis] = scaled(x[axis], factors[i])));
    return out;
  }
  const policy = n.opset >= 18 ? attrString(n.node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
  if (policy === 'stretch') {
    axes.forEach((axis, i) => (out[axis] = factors[i]));
    return out;
  }
  // One common scale: the largest that fits in every size (not_larger) or the smallest that covers them (not_smaller).
  const inputs = axes.map((axis) => x[axis]);
  if (!inputs.every((d): d is number => typeof d === 'number')) return undefined;
  const ratios = axes.map((_, i) => factors[i] / inputs[i]);
  const scale = policy === 'not_larger' ? Math.min(...ratios) : policy === 'not_smaller' ? Math.max(...ratios) : undefined;
  if (scale === undefined) return undefined;
  axes.forEach((axis, i) => (out[axis] = Math.round(scale * inputs[i])));
  return out;
}

const RESIZE_MODES = ['nearest', 'linear', 'cubic'];

const resize: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  return [facts(x.elemType, x.shape && resizeShape(n, x.shape))];
};

/** Upsample (opsets 7–9): scales are an attribute (7) or input 1 (9). */
const upsample: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const scales = n.opset >= 9 ? numbers(n.input(1)) : attrFloats(n.node, 'scales');
  if (x.shape && scales && (scales.length !== x.shape.length || scales.some((f) => !(f > 0)))) {
    throw invalidNode(n.node, `scales [${scales}] must hold ${x.shape.length} positive values, one per axis`);
  }
  return [facts(x.elemType, x.shape && scales ? x.shape.map((d, i) => scaled(d, scales[i])) : undefined)];
};

export const resizeOps: OpSpec[] = [
  { opType: 'Resize', domain: '', infer: resize, channels: resizeChannels, prune: resizePrune },
  { opType: 'Upsample', domain: '', infer: upsample },
];
