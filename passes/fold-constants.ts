/**
 * Pass: fold constants into initializers.
 *
 * Input: a Model and its shape analysis. Output (in place): every non-scalar or integer Constant
 * node and every node whose integer outputs shape inference folded to fully known values (the
 * Shape → Gather → Concat chains exporters emit for Reshape targets) is replaced by initializers
 * holding those values; nodes left without users are removed. Float scalars stay Constant nodes. The parameter
 * count is unchanged: accounting already counts the folded Constants (`constantOf`). The model computes the same outputs for every input
 * its declared (static) input shapes admit.
 *
 * Later passes then see shape operands as initializers they can read and rewrite. The nodes
 * that rebuild a weight at load time (a PEMN file's, passes/rebuilt-weights.ts) are never
 * folded: that would store the weight expanded, undoing the packing.
 */
import { dataTypeInfo } from '../src/ir/dtype.js';
import type { Model, Node, Value } from '../src/ir/graph.js';
import { elementCount, type Tensor } from '../src/ir/tensor.js';
import { constantInts } from '../src/ops/generators.js';
import { isIntegerType } from '../src/ops/values.js';
import type { ShapeAnalysis } from './infer-shapes.js';
import { rebuiltWeights } from './rebuilt-weights.js';

export function foldConstants(model: Model, facts: ShapeAnalysis): number {
  const graph = model.graph;
  let folded = 0;
  const rebuild = rebuiltWeights(model).nodes;
  for (const node of [...graph.nodes]) {
    if (rebuild.has(node)) continue;
    const constant = foldableConstant(node);
    const tensors = constant ? [constant] : foldedOutputs(node, facts);
    const outputs = [...node.outputs];
    if (!tensors || outputs.some((v) => v && graph.outputs.includes(v))) continue;
    graph.removeNode(node);
    outputs.forEach((v, i) => v && graph.addInitializer(v, { ...tensors[i], name: v.name }));
    folded++;
  }
  graph.cleanup();
  return folded;
}

/**
 * The tensor of a Constant node that folding turns into an initializer, whose output is not a
 * graph output: a `value` of more than one element or of an integer type, or a value_int or
 * value_ints. It is taken exactly from the attribute (an int64 never passes through a JS number).
 * Accounting and the mirror take its output for that initializer, so what they count and train
 * does not depend on whether folding ran.
 */
export function foldableConstant(node: Node): Tensor | undefined {
  if (node.opType !== 'Constant' || node.domain !== '') return undefined;
  const output = node.outputs[0];
  if (!output || node.graph.outputs.includes(output)) return undefined;
  const ints = constantInts(node);
  if (ints) return ints;
  const attr = node.attributes.get('value');
  const foldable = attr?.type === 'tensor' && (elementCount(attr.value.dims) > 1 || isIntegerType(attr.value.dataType));
  return foldable ? attr.value : undefined;
}

/** The constant tensor a value holds: its initializer, or the tensor of the Constant node that folding turns into one. */
export function constantOf(v: Value | null | undefined): Tensor | undefined {
  return v?.constant ?? (v?.producer ? foldableConstant(v.producer) : undefined);
}

/** Tensors for a node's outputs when every one has a fully known folded value. */
function foldedOutputs(node: Node, facts: ShapeAnalysis): Tensor[] | undefined {
  if (node.subgraphs().length || node.outputs.length === 0) return undefined;
  const tensors: Tensor[] = [];
  for (const v of node.outputs) {
    const f = v && facts.get(v);
    // Beyond 2^53 an element is not exact (see int64Element): such a node stays as it is.
    if (!v || !f?.value || !f.shape || !f.value.every((e): e is number => Number.isSafeInteger(e))) return undefined;
    if (!isIntegerType(f.elemType)) return undefined;
    const dims = f.shape as number[];
    const array = dataTypeInfo(f.elemType).array!;
    const data = new array(f.value.length);
    f.value.forEach((x, i) => (data[i] = (array === BigInt64Array || array === BigUint64Array ? BigInt(x) : x) as never));
    tensors.push({ name: v.name, dataType: f.elemType, dims, data, storage: { kind: 'raw' } });
  }
  return tensors;
}
