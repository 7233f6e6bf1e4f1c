/**
 * Weights rebuilt at load time: a contraction's weight (the op table's `weightInputs`) that
 * nodes compute from initializers alone, as in a PEMN file (a prototype and bit masks) or a
 * dequantized weight. Accounting counts their elements as parameters; constant folding leaves
 * the nodes that compute them alone, since folding them would store the weights expanded.
 */
import { topologicalOrder, type Model, type Node, type Value } from '../src/ir/graph.js';
import { opSpec } from '../src/ops/table.js';

export interface RebuiltWeights {
  weights: Set<Value>;
  /** The nodes that compute them. */
  nodes: Set<Node>;
}

/** Values computed when the model loads: from initializers (that no caller may override) and Constant nodes alone. */
function loadTimeValues(model: Model): Set<Value> {
  const known = new Set<Value>();
  const inputs = new Set(model.graph.inputs);
  const order = topologicalOrder(model.graph);
  for (const node of order.ok ? order.nodes : model.graph.nodes) {
    const read = node.inputs.filter((v): v is Value => v !== null);
    const fromConstants = node.opType === 'Constant' || (read.length > 0 && read.every((v) => (v.constant && !inputs.has(v)) || known.has(v)));
    if (fromConstants && !node.opType.startsWith('Random') && !node.subgraphs().length) for (const v of node.outputs) if (v) known.add(v);
  }
  return known;
}

/** The contraction weights computed at load time, and the nodes that compute them. */
export function rebuiltWeights(model: Model): RebuiltWeights {
  const loadTime = loadTimeValues(model);
  const weights = new Set<Value>();
  for (const node of model.graph.nodes) {
    for (const i of opSpec(node.opType, node.domain)?.weightInputs ?? []) {
      const v = node.inputs[i];
      // A weight in a Constant node is stored as it is, not rebuilt.
      if (v && loadTime.has(v) && v.producer?.opType !== 'Constant') weights.add(v);
    }
  }
  const nodes = new Set<Node>();
  const visit = (v: Value) => {
    const p = v.producer;
    if (!p || nodes.has(p)) return;
    nodes.add(p);
    for (const input of p.inputs) if (input) visit(input);
  };
  weights.forEach(visit);
  return { weights, nodes };
}
