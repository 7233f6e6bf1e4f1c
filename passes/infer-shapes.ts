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
 */
import { Model, Node, Value, topologicalOrder } from '../src/ir/graph.js';
import { dimsToShape, type Shape } from '../src/ir/types.js';
import type { InferredNode, NodeFacts, ValueFacts } from '../src/ops/spec.js';
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
  }
  const order = topologicalOrder(graph);
  for (const node of order.ok ? order.nodes : graph.nodes) {
    const opset = model.opset(node.domain);
    const spec = opSpec(node.opType, node.domain);
    if (!spec || opset === undefined) continue;
    const seen = nodeFacts(node, opset, facts);
    const outputs = spec.infer(options.view ? options.view(seen) : seen);
    node.outputs.forEach((v, i) => {
      const f = outputs[i];
      if (v && f) facts.set(v, f);
    });
  }
  return facts;
}

/** A node with the facts known about its inputs and outputs (the outputs once the pass has run). */
export function nodeFacts(node: Node, opset: number, facts: ShapeAnalysis): InferredNode {
  const of = (v: Value | null | undefined) => (v ? facts.get(v) : undefined);
  return { node, opset, input: (i) => of(node.inputs[i]), output: (i) => of(node.outputs[i]) };
}
