/**
 * tfjs kernel of Resize (opset 11 on): nearest, linear and cubic, separably along each resized
 * axis as weighted sums of gathered slices. tf.image.resizeBilinear is not used: its gradient
 * ignores half-pixel centers.
 */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import { attrFloat, attrInt, attrString } from '../../ir/attributes.js';
import type { Node } from '../../ir/graph.js';
import { TfjsRule, TfjsRules, acceptAttributes, heldAxis, held, unsupported } from './rule.js';
import { pickAlong } from './gather-along.js';

/** Where output index `i` of an axis reads in the input, per coordinate_transformation_mode. */
type SourceCoordinate = (i: number, scale: number, inSize: number, outSize: number) => number;

const COORDINATES: Record<string, SourceCoordinate> = {
  half_pixel: (i, scale) => (i + 0.5) / scale - 0.5,
  pytorch_half_pixel: (i, scale, _inSize, outSize) => (outSize > 1 ? (i + 0.5) / scale - 0.5 : 0),
  align_corners: (i, _scale, inSize, outSize) => (outSize === 1 ? 0 : (i * (inSize - 1)) / (outSize - 1)),
  asymmetric: (i, scale) => i / scale,
  tf_half_pixel_for_nn: (i, scale) => (i + 0.5) / scale,
};

/** The input index nearest to a coordinate, per nearest_mode. */
const NEAREST: Record<string, (x: number) => number> = {
  round_prefer_floor: (x) => (x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x)),
  round_prefer_ceil: (x) => Math.round(x),
  floor: Math.floor,
  ceil: Math.ceil,
};

/** Output element i of an axis is Σ_t weights[t][i] · input[indices[t][i]]; no weights means one tap of weight 1. */
interface Taps {
  indices: Int32Array[];
  weights?: Float32Array[];
}

interface Interpolation {
  mode: 'nearest' | 'linear' | 'cubic';
  coordinate: SourceCoordinate;
  nearest: (x: number) => number;
  cubicA: number;
  excludeOutside: boolean;
}

/** Cubic convolution weights of the taps at floor(x) − 1 … floor(x) + 2, for r = x − floor(x). */
function cubicWeights(r: number, a: number): number[] {
  const outer = (d: number) => ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  const inner = (d: number) => ((a + 2) * d - (a + 3)) * d * d + 1;
  return [outer(r + 1), inner(r), inner(1 - r), outer(2 - r)];
}

function axisTaps(p: Interpolation, inSize: number, outSize: number, scale: number): Taps {
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  const tapCount = { nearest: 1, linear: 2, cubic: 4 }[p.mode];
  const indices = Array.from({ length: tapCount }, () => new Int32Array(outSize));
  const weights = Array.from({ length: tapCount }, () => new Float32Array(outSize));
  for (let i = 0; i < outSize; i++) {
    const x = p.coordinate(i, scale, inSize, outSize);
    if (p.mode === 'nearest') {
      indices[0][i] = clamp(p.nearest(x));
      continue;
    }
    const base = Math.floor(x);
    const r = x - base;
    const first = p.mode === 'linear' ? base : base - 1;
    let w = p.mode === 'linear' ? [1 - r, r] : cubicWeights(r, p.cubicA);
    if (p.excludeOutside) {
      // Taps outside the input get no weight; the others are scaled to sum to 1.
      w = w.map((v, t) => (first + t >= 0 && first + t < inSize ? v : 0));
      const sum = w.reduce((s, v) => s + v, 0);
      w = w.map((v) => v / sum);
    }
    w.forEach((v, t) => {
      indices[t][i] = clamp(first + t);
      weights[t][i] = v;
    });
  }
  return p.mode === 'nearest' ? { indices } : { indices, weights };
}

/** Whether the taps reproduce the input as is (an axis that is not resized). */
function isIdentity(taps: Taps, inSize: number): boolean {
  const size = taps.indices[0].length;
  if (size !== inSize) return false;
  for (let i = 0; i < size; i++) {
    let own = 0;
    for (let t = 0; t < taps.indices.length; t++) {
      const w = taps.weights ? taps.weights[t][i] : 1;
      if (taps.indices[t][i] === i) own += w;
      else if (w !== 0) return false;
    }
    if (own !== 1) return false;
  }
  return true;
}

function resampleAxis(x: tf.Tensor, axis: number, taps: Taps): tf.Tensor {
  const size = taps.indices[0].length;
  const weightShape = x.shape.map((_, i) => (i === axis ? size : 1));
  const terms = taps.indices.map((indices, t) => {
    const picked = pickAlong(x, indices, axis);
    return taps.weights ? tf.mul(picked, tf.tensor(taps.weights[t], weightShape)) : picked;
  });
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

/**
 * Where onnxruntime and the ONNX reference disagree, neither answer is refused silently:
 * align_corners with a scale that gives a fractional size (the reference divides by in·scale − 1,
 * onnxruntime by the rounded size − 1), and cubic pytorch_half_pixel to a single pixel (−0.5 vs 0).
 */
function refuseAmbiguous(node: Node, p: Interpolation, ctm: string, inDims: number[], outDims: number[], scales: number[]): void {
  inDims.forEach((inSize, i) => {
    if (ctm === 'align_corners' && Math.fround(inSize * scales[i]) !== outDims[i]) {
      throw unsupported(node, `align_corners with scale ${scales[i]} on an axis of ${inSize} (a fractional output size)`);
    }
    if (ctm === 'pytorch_half_pixel' && p.mode === 'cubic' && outDims[i] === 1 && inSize !== 1) {
      throw unsupported(node, 'cubic pytorch_half_pixel resizing to a single pixel');
    }
  });
}

const resizeTfjs: TfjsRule = (n) => {
  const node = n.node;
  if (n.opset < 11) throw unsupported(node, 'Resize before opset 11');
  acceptAttributes(node, [
    'mode', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside',
    'extrapolation_value', 'antialias', 'keep_aspect_ratio_policy',
  ]);
  const mode = attrString(node, 'mode', 'nearest');
  const ctm = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = attrString(node, 'nearest_mode', 'round_prefer_floor');
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') throw unsupported(node, `mode '${mode}'`);
  if (!COORDINATES[ctm]) throw unsupported(node, `coordinate_transformation_mode '${ctm}'`);
  if (mode === 'nearest' && !NEAREST[nearestMode]) throw unsupported(node, `nearest_mode '${nearestMode}'`);
  if (attrInt(node, 'antialias', 0) !== 0) throw unsupported(node, 'antialias');
  if (attrString(node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') throw unsupported(node, 'keep_aspect_ratio_policy');
  const p: Interpolation = {
    mode,
    coordinate: COORDINATES[ctm],
    nearest: NEAREST[nearestMode] ?? Math.round,
    cubicA: attrFloat(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(node, 'exclude_outside', 0) !== 0,
  };
  const tables = new Map<string, Taps>();
  const tapsFor = (inSize: number, outSize: number, scale: number) => {
    const key = `${inSize},${outSize},${scale}`;
    let taps = tables.get(key);
    if (!taps) tables.set(key, (taps = axisTaps(p, inSize, outSize, scale)));
    return taps;
  };
  return (ctx) => {
    const inDims = ctx.shape(0);
    const rank = inDims.length;
    // An empty scales input stands for "not given" (sizes are then).
    const given = ctx.has(2) ? ctx.values(2) : [];
    const sizes = ctx.has(3) ? ctx.values(3) : [];
    if ((given.length || sizes.length) !== rank) throw new OtocError(`node ${node.label()}: scales or sizes must have ${rank} elements`);
    // in·scale is rounded down, the product in float32 as onnxruntime takes it.
    const scales = given.length ? given.map(Math.fround) : sizes.map((s, i) => Math.fround(s / inDims[i]));
    const outDims = given.length ? inDims.map((d, i) => Math.floor(Math.fround(d * scales[i]))) : sizes;
    refuseAmbiguous(node, p, ctm, inDims, outDims, scales);
    const order = rank >= 3 ? 'channelsLast' : 'onnx';
    let y = ctx.input(0, order);
    inDims.forEach((inSize, axis) => {
      const taps = tapsFor(inSize, outDims[axis], scales[axis]);
      if (!isIdentity(taps, inSize)) y = resampleAxis(y, heldAxis(axis, rank, order), taps);
    });
    return [held(y, order)];
  };
};

/** The tfjs rules of Resize, by op type. */
export const resizeRules: TfjsRules = {
  Resize: resizeTfjs,
};
