import { DataType, isKnownDataType } from '../ir/dtype.js';
import { attrInt, attrInts, attrString } from '../ir/attributes.js';
import { formatShape, type Shape } from '../ir/types.js';
import { checkInputType, checkedAxes, facts, invalidNode, listArgument, unknownDims } from './rules.js';
import { broadcastShapes, dimProduct, isStaticShape, normalizeAxes, type ShapeDim } from './shape-math.js';
import type { Element, NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { castElement, foldElementwise, numbers, valueFacts } from './values.js';
import { passThrough } from './channel-rules.js';
import { padChannels, reshapeChannels, reshapePrune, reshapeTargetChannels, transposeChannels } from './channels/shape-ops.js';

/** Ops that keep the elements in row-major order (Reshape, Squeeze, ...): a known value carries over. */
function reshaping(shapeOf: (n: NodeFacts, x: Shape) => Shape | undefined): ShapeRule {
  return (n) => {
    const x = n.input(0);
    if (!x) return [undefined];
    const shape = x.shape && shapeOf(n, x.shape);
    return [isStaticShape(shape) && x.value ? valueFacts(x.elemType, shape, x.value) : facts(x.elemType, shape)];
  };
}

/** Ops that move elements around (Transpose, Pad, ...): only the shape is inferred. */
function rearranging(shapeOf: (n: NodeFacts, x: Shape) => Shape | undefined): ShapeRule {
  return (n) => {
    const x = n.input(0);
    return [x && facts(x.elemType, x.shape && shapeOf(n, x.shape))];
  };
}

/** Shape: the input's dims (from opset 15, those in [start, end)), folded as a value. */
const shapeOf: ShapeRule = (n) => {
  const shape = n.input(0)?.shape;
  if (!shape) return [{ elemType: DataType.INT64, shape: [null] }];
  const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + shape.length : i, 0), shape.length);
  const dims = shape.slice(clamp(attrInt(n.node, 'start', 0)), clamp(attrInt(n.node, 'end', shape.length)));
  return [valueFacts(DataType.INT64, [dims.length], dims)];
};

const size: ShapeRule = (n) => {
  const shape = n.input(0)?.shape;
  const count = shape && dimProduct(shape);
  return [valueFacts(DataType.INT64, [], count === null || count === undefined ? undefined : [count])];
};

/**
 * The size that -1 stands for in a Reshape: the input's element count over the other
 * target dims. Symbolic dims on both sides cancel, so [N, 3, 4] → [N, -1] gives [N, 12].
 */
function inferredDim(input: Shape, others: Shape): ShapeDim {
  const remaining = [...input];
  let divisor = 1;
  for (const d of others) {
    if (typeof d === 'number') divisor *= d;
    else if (d !== null && remaining.includes(d)) remaining.splice(remaining.indexOf(d), 1);
    else return null;
  }
  const symbols = remaining.filter((d) => typeof d !== 'number');
  const count = dimProduct(remaining.filter((d) => typeof d === 'number'));
  if (count === null || divisor === 0) return null;
  if (symbols.length === 0) return count % divisor === 0 ? count / divisor : null;
  // One symbol left over, with the numbers cancelling exactly, is that symbol.
  return symbols.length === 1 && symbols[0] !== null && count === divisor ? symbols[0] : null;
}

/** Reshape: 0 copies the input dim (unless allowzero, opset 14), -1 is inferred. Before opset 5 the shape is an attribute. */
function reshapeShape(n: NodeFacts, x: Shape): Shape | undefined {
  if (n.opset >= 5) checkInputType(n, 1, [DataType.INT64], 'the shape');
  const targetFacts = n.opset >= 5 ? n.input(1) : undefined;
  const target: readonly Element[] | undefined = n.opset >= 5 ? targetFacts?.value : attrInts(n.node, 'shape');
  if (!target) return unknownDims(n, targetFacts);
  const allowZero = attrInt(n.node, 'allowzero', 0) !== 0;
  const refuse = (problem: string) => invalidNode(n.node, `the target shape [${target}] ${problem}`);
  if (target.filter((t) => t === -1).length > 1) throw refuse('has more than one -1');
  if (allowZero && target.includes(0) && target.includes(-1)) throw refuse('has both 0 and -1, which allowzero forbids');
  const out: Shape = [];
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if (typeof t === 'number' && (t < -1 || !Number.isInteger(t))) throw refuse(`has ${t}, but its entries must be ≥ -1`);
    if (t === 0 && !allowZero) {
      if (i >= x.length) throw refuse(`copies dim ${i} (a 0), but the input has rank ${x.length}`);
      out.push(x[i]);
    } else out.push(t);
  }
  const inferAt = target.indexOf(-1);
  if (inferAt >= 0) out[inferAt] = inferredDim(x, out.filter((_, i) => i !== inferAt));
  const count = dimProduct(x);
  const others = dimProduct(out.filter((_, i) => i !== inferAt));
  if (count !== null && others !== null && (inferAt >= 0 ? others === 0 || count % others !== 0 : count !== others)) {
    throw refuse(`cannot hold the ${count} elements of the input ${formatShape(x)}`);
  }
  return out;
}

/** The product of dims, keeping a lone symbolic dim as it is. */
function mergedDims(dims: Shape): ShapeDim {
  return dims.length === 1 ? dims[0] : dimProduct(dims);
}

/** Flatten: [d0 … d(axis−1)] and [d(axis) …] each merged into one dim. */
function flattenShape(n: NodeFacts, x: Shape): Shape | undefined {
  const axis = attrInt(n.node, 'axis', 1);
  const a = axis < 0 ? axis + x.length : axis;
  if (a < 0 || a > x.length) throw invalidNode(n.node, `axis ${axis} is out of range for rank ${x.length}`);
  return [mergedDims(x.slice(0, a)), mergedDims(x.slice(a))];
}

/** Squeeze: the listed axes (attribute before opset 13, input after), which must be 1, or every dim that is 1. */
function squeezeShape(n: NodeFacts, x: Shape): Shape | undefined {
  const given = listArgument(n, 'axes', 13, 1);
  if (given === 'unknown') return undefined;
  if (given === 'absent') return x.every((d) => typeof d === 'number') ? x.filter((d) => d !== 1) : undefined;
  const axes = checkedAxes(n, given, x.length);
  const wide = axes.find((a) => typeof x[a] === 'number' && x[a] !== 1);
  if (wide !== undefined) throw invalidNode(n.node, `it squeezes axis ${wide}, whose size is ${x[wide]}, not 1`);
  return x.filter((_, i) => !axes.includes(i));
}

/** Unsqueeze: a 1 at each listed axis, the axes counted in the output's rank. */
function unsqueezeShape(n: NodeFacts, x: Shape): Shape | undefined {
  const given = listArgument(n, 'axes', 13, 1);
  if (given === 'absent') throw invalidNode(n.node, 'axes are required');
  if (given === 'unknown') return undefined;
  const rank = x.length + given.length;
  const axes = checkedAxes(n, given, rank);
  const rest = [...x];
  return Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
}

function transposeShape(n: NodeFacts, x: Shape): Shape | undefined {
  const perm = attrInts(n.node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
  const valid = perm.length === x.length && normalizeAxes(perm, x.length)?.every((a, i) => a === perm[i]);
  if (!valid) throw invalidNode(n.node, `perm [${perm}] is not a permutation of the ${x.length} axes of its input`);
  return perm.map((p) => x[p]);
}

/** Pad: each axis grows by its begin and end pads (attribute before opset 11, input after; axes input from 18). */
function padShape(n: NodeFacts, x: Shape): Shape | undefined {
  const mode = attrString(n.node, 'mode', 'constant');
  if (!PAD_MODES.includes(mode)) throw invalidNode(n.node, `mode '${mode}' is none of ${PAD_MODES.join(', ')}`);
  const pads = listArgument(n, 'pads', 11, 1);
  const axesGiven = n.opset >= 18 ? listArgument(n, 'axes', 18, 3) : 'absent';
  if (pads === 'absent') throw invalidNode(n.node, 'pads are required');
  if (axesGiven === 'unknown') return undefined;
  const axes = axesGiven === 'absent' ? x.map((_, i) => i) : checkedAxes(n, axesGiven, x.length);
  if (pads === 'unknown') return x.map((d, i) => (axes.includes(i) ? null : d));
  if (pads.length !== 2 * axes.length) throw invalidNode(n.node, `pads [${pads}] must hold 2 × ${axes.length} values`);
  const out = [...x];
  axes.forEach((axis, i) => {
    const d = x[axis];
    out[axis] = typeof d === 'number' ? d + pads[i] + pads[i + axes.length] : pads[i] === 0 && pads[i + axes.length] === 0 ? d : null;
  });
  return out;
}

/** Tile: each dim times its repeat count (input 1). */
function tileShape(n: NodeFacts, x: Shape): Shape | undefined {
  const repeats = numbers(n.input(1));
  if (!repeats) return x.map(() => null);
  if (repeats.length !== x.length || repeats.some((r) => r < 0)) {
    throw invalidNode(n.node, `repeats [${repeats}] must hold ${x.length} values ≥ 0, one per axis`);
  }
  return x.map((d, i) => (repeats[i] === 1 ? d : typeof d === 'number' ? d * repeats[i] : null));
}

/** Expand: bidirectional broadcast of the input with the shape in input 1 (unknown target dims stay open). */
const expand: ShapeRule = (n) => {
  const x = n.input(0);
  const target = n.input(1);
  if (!x) return [undefined];
  const targetDims = target?.value ?? unknownDims(n, target);
  if (targetDims?.some((d) => typeof d === 'number' && !(d >= 0))) throw invalidNode(n.node, `its shape [${targetDims}] has a negative dim`);
  const shape = x.shape && targetDims && broadcastShapes([x.shape, targetDims as Shape]);
  if (x.shape && targetDims && !shape) {
    throw invalidNode(n.node, `its input ${formatShape(x.shape)} does not broadcast to [${targetDims.map((d) => d ?? '?')}]`);
  }
  const value = shape && foldElementwise([x], shape, (e) => e);
  return [isStaticShape(shape) && value ? valueFacts(x.elemType, shape, value) : facts(x.elemType, shape)];
};

/** DepthToSpace moves C/(b²) channel blocks into b×b pixels; SpaceToDepth does the reverse. */
function blockShape(toSpace: boolean) {
  return (n: NodeFacts, x: Shape): Shape | undefined => {
    const b = attrInt(n.node, 'blocksize');
    if (b === undefined || !(b >= 1)) throw invalidNode(n.node, `blocksize must be a positive int, got ${b}`);
    if (x.length !== 4) throw invalidNode(n.node, `its input has rank ${x.length}; it must be [N, C, H, W]`);
    const [batch, c, h, w] = x;
    const divided = (d: ShapeDim, by: number) => {
      if (typeof d !== 'number') return null;
      if (d % by !== 0) throw invalidNode(n.node, `${formatShape(x)} cannot be split into blocks of ${b}`);
      return d / by;
    };
    const scale = (d: ShapeDim) => (typeof d !== 'number' ? null : toSpace ? d * b : divided(d, b));
    const channels = typeof c !== 'number' ? null : toSpace ? divided(c, b * b) : c * b * b;
    return [batch, channels, scale(h), scale(w)];
  };
}

/** Cast and CastLike: the same shape, elements converted to the target type. */
function cast(targetType: (n: NodeFacts) => DataType | undefined): ShapeRule {
  return (n) => {
    const x = n.input(0);
    const to = targetType(n);
    if (!x || to === undefined) return [undefined];
    const value = x.value?.map((e) => castElement(e, to));
    return [isStaticShape(x.shape) && value ? valueFacts(to, x.shape, value) : facts(to, x.shape)];
  };
}

/** Cast's `to`: required, and a data type ONNX defines. */
function castTarget(n: NodeFacts): DataType {
  const to = attrInt(n.node, 'to');
  if (to === undefined || !isKnownDataType(to) || to === DataType.UNDEFINED) throw invalidNode(n.node, `'to' must name a data type, got ${to}`);
  return to;
}

const PAD_MODES = ['constant', 'reflect', 'edge', 'wrap'];

export const shapeOps: OpSpec[] = [
  // Shape reads no channel values; the shapes it reports follow pruning by themselves.
  { opType: 'Shape', domain: '', infer: shapeOf, channels: () => {} },
  { opType: 'Size', domain: '', infer: size },
  {
    opType: 'Reshape',
    domain: '',
    infer: reshaping(reshapeShape),
    channels: reshapeTargetChannels,
    prune: reshapePrune,
  },
  { opType: 'Flatten', domain: '', infer: reshaping(flattenShape), channels: reshapeChannels },
  { opType: 'Squeeze', domain: '', infer: reshaping(squeezeShape), channels: reshapeChannels },
  { opType: 'Unsqueeze', domain: '', infer: reshaping(unsqueezeShape), channels: reshapeChannels },
  { opType: 'Transpose', domain: '', infer: rearranging(transposeShape), channels: transposeChannels },
  { opType: 'Pad', domain: '', infer: rearranging(padShape), channels: padChannels },
  { opType: 'Tile', domain: '', infer: rearranging(tileShape) },
  { opType: 'Expand', domain: '', infer: expand },
  { opType: 'DepthToSpace', domain: '', infer: rearranging(blockShape(true)) },
  { opType: 'SpaceToDepth', domain: '', infer: rearranging(blockShape(false)) },
  { opType: 'Identity', domain: '', infer: (n) => [n.input(0)], channels: passThrough },
  { opType: 'Cast', domain: '', infer: cast(castTarget), channels: passThrough },
  { opType: 'CastLike', domain: '', infer: cast((n) => n.input(1)?.elemType) },
];
