/**
 * Pass: parameter and multiply-accumulate accounting (docs/verification.md).
 *
 * Input: a Model and its shape analysis. Output: parameter, buffer and MAC counts, per
 * node and in total. The IR is not changed.
 *
 * Parameters are the elements of float initializers that an op consumes as learnable values
 * (and of the Constant nodes that folding turns into initializers: exporters such as
 * paddle2onnx keep weights there) (the op table's `parameterInputs`: weights, biases, normalization scales, PRelu
 * slopes, an Add/Mul operand as a bias or affine scale); each initializer counts once, however
 * many nodes share it. Buffers are those consumed as non-learned state (`bufferInputs`:
 * BatchNorm running mean and variance). Every other initializer element (Reshape shapes,
 * Resize scales, constants of unknown ops) is neither.
 *
 * A contraction's weight (the op table's `weightInputs`) that nodes compute from initializers
 * alone is rebuilt at load time (a PEMN file's prototype and bit masks, a dequantized weight):
 * its elements count as parameters, as the weight they stand for, and the initializers it is
 * rebuilt from do not (they are other initializer elements).
 */
import { isFloatType } from '../src/ir/dtype.js';
import type { Model, Node, Value } from '../src/ir/graph.js';
import { NO_OVERRIDES, assumedShape, type ShapeOverrides } from '../src/ir/input-shapes.js';
import { elementCount } from '../src/ir/tensor.js';
import type { Shape } from '../src/ir/types.js';
import { dimProduct } from '../src/ops/shape-math.js';
import { opSpec } from '../src/ops/table.js';
import { constantOf } from './fold-constants.js';
import { inferShapes, nodeFacts, type ShapeAnalysis } from './infer-shapes.js';
import { rebuiltWeights } from './rebuilt-weights.js';

export const MAC_CONVENTION =
  'multiply-accumulates of the contractions, batch included: Conv = N·Cout·Hout·Wout·(Cin/group)·kh·kw, ' +
  'ConvTranspose = N·Cin·Hin·Win·(Cout/group)·kh·kw, Gemm/MatMul = M·N·K (times batch dims), ' +
  'LSTM/GRU/RNN = seq·batch·directions·gates·hidden·(input + hidden); ' +
  'biases, activations, normalization, pooling, resampling and other element-wise ops count 0; ' +
  'symbolic input dims (a dynamic batch, height or width) count as 1 unless --shape gives them';

export const PARAMETER_CONVENTION =
  'elements of float initializers (or non-scalar Constant nodes) consumed as learnable weights, biases and scales (shared ones once), ' +
  'and of the weights that nodes rebuild from initializers at load time (as in a PEMN file); ' +
  'BatchNorm running mean/variance are buffers, counted separately';

export interface NodeMacs {
  node: Node;
  /** Undefined when not known: an op otoc does not know, or shapes it could not infer. */
  macs: number | undefined;
}

export interface Accounting {
  /** Rebuilt weights included. */
  parameters: number;
  /** Elements of the contraction weights that nodes rebuild from initializers at load time. */
  rebuiltWeights: number;
  buffers: number;
  /** Elements of initializers that are neither parameters nor buffers. */
  otherInitializerElements: number;
  /** Initializers counted as parameters and as buffers, in file order. */
  parameterValues: Value[];
  bufferValues: Value[];
  /** One entry per node of the main graph, in graph order. */
  nodeMacs: NodeMacs[];
  /** Sum over the nodes whose MACs are known. */
  totalMacs: number;
}

export function account(model: Model, shapes: ShapeAnalysis): Accounting {
  const graph = model.graph;
  const learnable = new Set<Value>();
  const buffers = new Set<Value>();
  const isFloatConstant = (v: Value | null): v is Value => {
    const t = constantOf(v);
    return t !== undefined && isFloatType(t.dataType);
  };
  const nodeMacs: NodeMacs[] = [];
  const rebuild = rebuiltWeights(model);
  for (const node of graph.nodes) {
    const spec = opSpec(node.opType, node.domain);
    const opset = model.opset(node.domain);
    if (!rebuild.nodes.has(node)) for (const i of spec?.parameterInputs ?? []) if (isFloatConstant(node.inputs[i] ?? null)) learnable.add(node.inputs[i]!);
    for (const i of spec?.bufferInputs ?? []) if (isFloatConstant(node.inputs[i] ?? null)) buffers.add(node.inputs[i]!);
    const known = spec !== undefined && opset !== undefined;
    const macs = !known ? undefined : spec.macs ? spec.macs(nodeFacts(node, opset, shapes)) : 0;
    nodeMacs.push({ node, macs });
  }
  // A tensor read as a weight by one node and as state by another is a weight.
  for (const v of learnable) buffers.delete(v);
  const elements = (values: Iterable<Value>) => [...values].reduce((sum, v) => sum + elementCount(constantOf(v)!.dims), 0);
  // Initializers first, then the outputs of weight Constant nodes in node order.
  const constantOutputs = graph.nodes.flatMap((n) => n.outputs.filter((v): v is Value => Boolean(v && !v.constant && constantOf(v))));
  const inFileOrder = (set: Set<Value>) => [...graph.initializers, ...constantOutputs].filter((v) => set.has(v));
  const rebuilt = [...rebuild.weights].reduce((sum, v) => sum + (dimProduct(shapes.get(v)?.shape ?? [null]) ?? 0), 0);
  const parameters = elements(learnable) + rebuilt;
  const bufferCount = elements(buffers);
  const counted = (v: Value) => learnable.has(v) || buffers.has(v);
  return {
    parameters,
    rebuiltWeights: rebuilt,
    buffers: bufferCount,
    otherInitializerElements: elements(graph.initializers.filter((v) => !counted(v))),
    parameterValues: inFileOrder(learnable),
    bufferValues: inFileOrder(buffers),
    nodeMacs,
    totalMacs: nodeMacs.reduce((sum, m) => sum + (m.macs ?? 0), 0),
  };
}

/**
 * Accounting at the input sizes `shapes` gives (--shape), every other symbolic or unknown input
 * dim taken as 1: MACs per sample of a dynamic batch.
 */
export function accountPerSample(model: Model, shapes: ShapeOverrides = NO_OVERRIDES): Accounting {
  return account(model, perSampleShapes(model, shapes));
}

/** The shapes accountPerSample counts at: `shapes` for the inputs it names, every other symbolic or unknown dim 1. */
export function perSampleShapes(model: Model, shapes: ShapeOverrides = NO_OVERRIDES): ShapeAnalysis {
  const inputShape = (v: Value, declared: Shape) => assumedShape(v.name, declared, shapes)!.map((d) => (typeof d === 'number' ? d : 1));
  return inferShapes(model, { inputShape });
}
