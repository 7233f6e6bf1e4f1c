import type { DataType } from '../ir/dtype.js';
import { attrInts } from '../ir/attributes.js';
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
