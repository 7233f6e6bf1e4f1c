/**
 * The layers PEMN masks: every float32 weight initializer of a contraction (the op table's
 * `weightInputs`: Conv and ConvTranspose weights, Gemm and MatMul operands), the classifier
 * included, in the order the graph first reads them. A weight several nodes share is one layer.
 * The model is analyzed (constants folded), so weights that an exporter kept in Constant nodes
 * are initializers by then.
 */
import { OtocError } from '../../errors.js';
import { DataType } from '../../ir/dtype.js';
import { topologicalOrder, type Model, type Node, type Value } from '../../ir/graph.js';
import { elementCount } from '../../ir/tensor.js';
import { opSpec } from '../../ops/table.js';
import { isStaticShape, product } from '../../ops/shape-math.js';
import { inferShapes, nodeFacts, type ShapeAnalysis } from '../../../passes/infer-shapes.js';

export interface MaskedLayer {
  /** The weight initializer. */
  value: Value;
  dims: number[];
  size: number;
  /**
   * Inputs summed into each output element (Kaiming's fan-in): the node's multiply-accumulates
   * per output element, or the product of the weight's dims after the first (PyTorch's rule for
   * conv and linear weights) where the shapes are not known.
   */
  fanIn: number;
}

/** The model's masked layers; throws an OtocError when it has none. */
export function maskedLayers(model: Model): MaskedLayer[] {
  const order = topologicalOrder(model.graph);
  const nodes = order.ok ? order.nodes : model.graph.nodes;
  let facts: ShapeAnalysis | undefined;
  const layers = new Map<Value, MaskedLayer>();
  for (const node of nodes) {
    for (const i of opSpec(node.opType, node.domain)?.weightInputs ?? []) {
      const value = node.inputs[i];
      const t = value?.constant;
      if (!value || !t || t.dataType !== DataType.FLOAT || layers.has(value)) continue;
      facts ??= inferShapes(model, { inputShape: (_, declared) => declared.map((d) => (typeof d === 'number' ? d : 1)) });
      layers.set(value, { value, dims: [...t.dims], size: elementCount(t.dims), fanIn: fanIn(model, node, t.dims, facts) });
    }
  }
  if (layers.size === 0) throw new OtocError('the model has no float32 Conv, Gemm or MatMul weight initializers for PEMN to mask');
  return [...layers.values()];
}

function fanIn(model: Model, node: Node, dims: readonly number[], facts: ShapeAnalysis): number {
  const seen = nodeFacts(node, model.opset(node.domain) ?? 0, facts);
  const macs = opSpec(node.opType, node.domain)?.macs?.(seen);
  const out = seen.output(0)?.shape;
  if (macs !== undefined && isStaticShape(out) && product(out) > 0 && macs > 0) return macs / product(out);
  return Math.max(1, product(dims.slice(1)));
}
