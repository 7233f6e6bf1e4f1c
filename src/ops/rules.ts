import { DataType, dataTypeName } from '../ir/dtype.js';
import { OtocError } from '../errors.js';
import { attrInts } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import { MAX_RANK } from '../limits.js';
import { normalizeAxes, normalizeAxis } from './shape-math.js';
import type { Shape } from '../ir/types.js';
import { numbers } from './values.js';
import type { NodeFacts, ShapeRule, ValueFacts } from './spec.js';

/** Facts with a known type and shape (or only the type when `shape` is undefined). */
export function facts(elemType: DataType, shape: Shape | undefined): ValueFacts {
  return shape ? { elemType, shape } : { elemType };
}

/** The output has the type and shape of input 0 (activations, normalizations, Softmax). */
export const sameAsInput: ShapeRule = (n) => {
  const x = n.input(0);
  return [x && facts(x.elemType, x.shape)];
};

/** The output has the shape of input 0 and a fixed type (IsNaN, comparisons of one tensor). */
export function sameShapeAs(elemType: DataType): ShapeRule {
  return (n) => {
    const x = n.input(0);
    return [x && facts(elemType, x.shape)];
  };
}

/** Facts of every present input, or undefined when one is unknown. */
export function allInputs(n: NodeFacts): ValueFacts[] | undefined {
  const out: ValueFacts[] = [];
  for (let i = 0; i < n.node.inputs.length; i++) {
    const f = n.input(i);
    if (!f) return undefined;
    out.push(f);
  }
  return out;
}

/**
 * An axes-like list given as an attribute before `inputSince` and as input `inputIndex`
 * from then on: the numbers, 'absent', or 'unknown' when the input's value is not known.
 */
export function listArgument(n: NodeFacts, name: string, inputSince: number, inputIndex: number): number[] | 'absent' | 'unknown' {
  if (n.opset < inputSince) return attrInts(n.node, name) ?? 'absent';
  if (!n.node.input(inputIndex)) return 'absent';
  return numbers(n.input(inputIndex)) ?? 'unknown';
}

/** Refuse a node that breaks a rule of the ONNX spec, naming it: the model is invalid. */
export function invalidNode(node: Node, problem: string): OtocError {
  return new OtocError(`invalid model: node ${node.label()}: ${problem}`);
}

/** `axis` of a tensor of rank `rank`, normalized; a node whose axis is out of [-rank, rank) is refused. */
export function checkedAxis(n: NodeFacts, axis: number, rank: number, what = 'axis'): number {
  const a = normalizeAxis(axis, rank);
  if (a === undefined) throw invalidNode(n.node, `${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Normalized `axes`; a node with an axis out of range, or one listed twice, is refused. */
export function checkedAxes(n: NodeFacts, axes: readonly number[], rank: number, what = 'axes'): number[] {
  const out = normalizeAxes(axes, rank);
  if (!out) throw invalidNode(n.node, `${what} [${axes}] are out of range for rank ${rank} or repeat an axis`);
  return out;
}

/** Refuse the node unless the known types of inputs `indices` (all present ones by default) are the same. */
export function checkSameTypes(n: NodeFacts, indices?: readonly number[]): void {
  const types = (indices ?? n.node.inputs.map((_, i) => i))
    .map((i) => ({ i, f: n.node.input(i) ? n.input(i) : undefined }))
    .filter((t) => t.f !== undefined);
  const first = types[0];
  const other = types.find((t) => t.f!.elemType !== first.f!.elemType);
  if (other) {
    throw invalidNode(
      n.node,
      `input ${other.i} is ${dataTypeName(other.f!.elemType)} but input ${first.i} is ${dataTypeName(first.f!.elemType)}; they must have the same type`,
    );
  }
}

/** Refuse the node when the known type of input `index` is not one of `allowed`. */
export function checkInputType(n: NodeFacts, index: number, allowed: readonly DataType[], what = `input ${index}`): void {
  const f = n.node.input(index) ? n.input(index) : undefined;
  if (f && !allowed.includes(f.elemType)) {
    throw invalidNode(n.node, `${what} is ${dataTypeName(f.elemType)}, which is not allowed (${allowed.map(dataTypeName).join(', ')})`);
  }
}

export const FLOAT_TYPES: readonly DataType[] = [DataType.FLOAT16, DataType.FLOAT, DataType.DOUBLE, DataType.BFLOAT16];
export const INDEX_TYPES: readonly DataType[] = [DataType.INT32, DataType.INT64];

/**
 * A shape of unknown dims as long as a 1-D shape operand (Reshape's target, Expand's shape,
 * ConstantOfShape's input), when that length is known; one longer than MAX_RANK is refused.
 */
export function unknownDims(n: NodeFacts, operand: ValueFacts | undefined): Shape | undefined {
  const length = operand?.shape?.[0];
  if (typeof length !== 'number') return undefined;
  if (length > MAX_RANK) throw invalidNode(n.node, `its shape operand has ${length} entries, more than otoc's limit of ${MAX_RANK} dims`);
  return new Array(length).fill(null);
}
