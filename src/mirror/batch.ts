/**
 * The batch dimension of the mirror. Exporters usually fix the batch to 1 (input [1, 3, 32, 32])
 * and write it into Reshape targets ([1, -1]); the mirror trains on any batch size. So the model
 * is analyzed with a symbolic batch on axis 0 of its data inputs, and one reinterpretation:
 *
 *   A Reshape whose input carries the batch on axis 0 and whose constant target starts with the
 *   file's batch size B reads that first entry as 0 ("copy the input's dim").
 *
 * At the file's own batch this changes nothing (the input's dim 0 is B), so the mirror still
 * computes the model exactly; at other sizes the batch passes through as it does everywhere
 * else. A Reshape that still loses the batch (its target mixes it with other axes, or comes out
 * unknown) pins the batch: running another size is refused rather than guessed.
 */
import { attrInt } from '../ir/attributes.js';
import type { Model, Node, Value } from '../ir/graph.js';
import { dimsToShape, type Shape } from '../ir/types.js';
import type { InferredNode, NodeFacts } from '../ops/spec.js';
import { inferShapes, nodeFacts, type ShapeAnalysis } from '../../passes/infer-shapes.js';

/** The symbolic batch dimension during the analysis (a name no exporter writes). */
const BATCH = '\u0000batch';

export interface BatchAnalysis {
  /** What a node's rule sees: its facts (the batch symbolic), with a batch-preserving Reshape target reinterpreted. */
  view(node: Node, opset: number): NodeFacts;
  /** Graph inputs whose axis 0 is the batch: the non-initializer inputs of rank ≥ 2. */
  batched: Value[];
  /** The batch size the file fixes on those inputs; undefined when it leaves it symbolic. */
  fileBatch?: number;
  /** Reshapes that lose the batch: with them only the file's batch size runs. */
  pinned: Node[];
}

export function analyzeBatch(model: Model): BatchAnalysis {
  const graph = model.graph;
  const batched = graph.inputs.filter((v) => !v.isConstant && v.type?.kind === 'tensor' && (v.type.shape?.length ?? 0) >= 2);
  const declared = new Set(batched.map((v) => (v.type?.kind === 'tensor' ? dimsToShape(v.type.shape!)[0] : null)));
  if (declared.size > 1) {
    // Inputs that disagree on axis 0 are not batched alike: analyze the model as declared.
    const facts = inferShapes(model);
    return { view: (node, opset) => nodeFacts(node, opset, facts), batched: [], pinned: [] };
  }
  const [first] = declared;
  const fileBatch = typeof first === 'number' ? first : undefined;
  const preserveBatch = (n: InferredNode): NodeFacts => (fileBatch === undefined ? n : batchPreservingView(n, fileBatch));
  const facts = inferShapes(model, {
    inputShape: (v: Value, shape: Shape) => (batched.includes(v) ? [BATCH, ...shape.slice(1)] : shape),
    view: preserveBatch,
  });
  const pinned = graph.nodes.filter((node) => node.opType === 'Reshape' && losesBatch(node, facts));
  return { view: (node, opset) => preserveBatch(nodeFacts(node, opset, facts)), batched, fileBatch, pinned };
}

/** A Reshape (opset 5 on, without allowzero) reading a literal file batch as "copy dim 0". */
function batchPreservingView(n: InferredNode, fileBatch: number): NodeFacts {
  if (n.node.opType !== 'Reshape' || n.node.domain !== '' || n.opset < 5 || attrInt(n.node, 'allowzero', 0) !== 0) return n;
  const target = n.input(1);
  if (n.input(0)?.shape?.[0] !== BATCH || target?.value?.[0] !== fileBatch) return n;
  const value = [0, ...target.value.slice(1)];
  return { ...n, input: (i) => (i === 1 ? { ...target, value } : n.input(i)) };
}

function losesBatch(node: Node, facts: ShapeAnalysis): boolean {
  const input = node.inputs[0];
  const output = node.outputs[0];
  const carries = (v: Value | null | undefined) => Boolean(v && facts.get(v)?.shape?.includes(BATCH));
  return carries(input) && !carries(output);
}
