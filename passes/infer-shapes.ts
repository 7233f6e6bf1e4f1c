/**
 * Pass: static shape inference with constant folding of shape arithmetic.
 *
 * Input: a Model. Output: what is known about each value of the main graph (element type,
 * static shape, and the elements of small constants such as the operands of Reshape), from
 * the graph inputs' declared types, the initializers and the op table's shape rules. The IR
 * is not changed. value_info annotations are not read, so the result is derived, never
 * copied from what a producer claimed.
 *
 * A value is missing from the map when its type is unknown (an op the table does not know,
 * an unknown input); its shape or value are left out when only they are unknown.
 * Subgraph bodies (If/Loop/Scan) are not analyzed.
 *
 * A node that breaks the ONNX spec in a way its rule checks (a group of 0, a perm that is not
 * a permutation), or whose output would be larger than otoc's limits, is refused with an
 * OtocError that names it.
 */
import { Model, Node, Value, topologicalOrder } from '../src/ir/graph.js';
import { OtocError } from '../src/errors.js';
import { dimsToShape, formatShape, type Shape } from '../src/ir/types.js';
import { MAX_INFERRED_ELEMENTS, MAX_RANK } from '../src/limits.js';
import type { InferredNode, NodeFacts, ValueFacts } from '../src/ops/spec.js';
import { invalidNode } from '../src/ops/rules.js';
import { opSpec } from '../src/ops/table.js';
import { tensorFacts } from '../src/ops/values.js';

export type ShapeAnalysis = Map<Value, ValueFacts>;

/** Ways to analyze a model under assumptions other than its own declarations. */
export interface InferenceOptions {
  /** The shape to assume for a graph input instead of the declared one (e.g. a symbolic batch). */
  inputShape?: (input: Value, declared: Shape) => Shape;
  /** What a node's shape rule sees, given the facts inferred for its inputs (e.g. a reinterpreted operand). */
  view?: (node: InferredNode) => NodeFacts;
}

export function inferShapes(model: Model, options: InferenceOptions = {}): ShapeAnalysis {
  const graph = model.graph;
  const facts: ShapeAnalysis = new Map();
  for (const v of graph.initializers) facts.set(v, tensorFacts(v.constant!));
  // From IR 4 on, an initializer that is also a graph input is only a default the caller may override.
  const overridable = model.irVersion >= 4;
  for (const v of graph.inputs) {
    if (v.type?.kind !== 'tensor') continue;
    const shape = v.type.shape && dimsToShape(v.type.shape);
    const assumed = shape && options.inputShape ? options.inputShape(v, shape) : shape;
    const declared: ValueFacts = { elemType: v.type.elemType, ...(assumed ? { shape: assumed } : {}) };
    const initial = facts.get(v);
    if (!initial || overridable) facts.set(v, declared.shape || !initial ? declared : { elemType: initial.elemType, shape: initial.shape });
    if (assumed) checkSize(assumed, () => `graph input '${v.name}'`);
  }
  const order = topologicalOrder(graph);
  for (const node of order.ok ? order.nodes : graph.nodes) {
    const opset = model.opset(node.domain);
    const spec = opSpec(node.opType, node.domain);
    if (!spec || opset === undefined) continue;
    spec.requiredInputs?.forEach((name, i) => {
      if (!node.input(i)) throw invalidNode(node, `${name} (input ${i}) is missing; it is required`);
    });
    const seen = nodeFacts(node, opset, facts);
    const outputs = spec.infer(options.view ? options.view(seen) : seen);
    node.outputs.forEach((v, i) => {
      const f = outputs[i];
      if (!v || !f) return;
      if (f.shape) checkSize(f.shape, () => `node ${node.label()}: output '${v.name}'`);
      facts.set(v, f);
    });
  }
  return facts;
}

/**
 * Refuse a shape with a negative or fractional dim, more than MAX_RANK dims, or more than
 * MAX_INFERRED_ELEMENTS elements (counting its known dims): what the spec forbids, or sizes
 * only a corrupt attribute makes. `what` names the value in the message.
 */
function checkSize(shape: Shape, what: () => string): void {
  const refuse = (problem: string) => new OtocError(`invalid model: ${what()} ${problem}`);
  if (shape.length > MAX_RANK) throw refuse(`has ${shape.length} dims, more than otoc's limit of ${MAX_RANK}`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number') continue;
    if (!(d >= 0 && Number.isInteger(d))) throw refuse(`would have shape ${formatShape(shape)}: dims must be whole numbers ≥ 0`);
    count *= d;
  }
  if (count > MAX_INFERRED_ELEMENTS) {
    throw refuse(`would have shape ${formatShape(shape)}: more than otoc's limit of ${MAX_INFERRED_ELEMENTS} elements`);
  }
}

/** A node with the facts known about its inputs and outputs (the outputs once the pass has run). */
export function nodeFacts(node: Node, opset: number, facts: ShapeAnalysis): InferredNode {
  const of = (v: Value | null | undefined) => (v ? facts.get(v) : undefined);
  return { node, opset, input: (i) => of(node.inputs[i]), output: (i) => of(node.outputs[i]) };
}
