import type { DataType } from '../ir/dtype.js';
import type { Node } from '../ir/graph.js';
import type { Shape } from '../ir/types.js';
import type { ChannelRule, PruneRule } from './channel-rules.js';

/**
 * One element of a folded constant: a number, the name of a symbolic dimension carried
 * through shape arithmetic (`Shape` of a `[batch, 3]` tensor is `['batch', 3]`), or null
 * when that element is not known.
 */
export type Element = number | string | null;

/** What static analysis knows about one value. */
export interface ValueFacts {
  elemType: DataType;
  /** Undefined when even the rank is unknown. */
  shape?: Shape;
  /**
   * Row-major elements of a small tensor with a fully static `shape` (constants and shape
   * arithmetic; size limit MAX_FOLDED_ELEMENTS in values.ts); undefined when not known.
   */
  value?: readonly Element[];
}

/** A node seen with what is known about its inputs. */
export interface NodeFacts {
  readonly node: Node;
  /** Version of the node's domain that the model imports: rules follow that version's definition. */
  readonly opset: number;
  /** Facts about input `index`; undefined when it is absent, omitted or unknown. */
  input(index: number): ValueFacts | undefined;
}

/** A node after inference, with what is known about its outputs as well. */
export interface InferredNode extends NodeFacts {
  output(index: number): ValueFacts | undefined;
}

/** Facts about each output, in order; undefined for an output nothing is known about. */
export type ShapeRule = (node: NodeFacts) => (ValueFacts | undefined)[];

/** Multiply-accumulates of one run of the node; undefined when the shapes needed are unknown. */
export type MacRule = (node: InferredNode) => number | undefined;

/**
 * What otoc knows about one ONNX operator. Passes read the fields they need. How the training
 * mirror computes the op is registered on the mirror's side (src/mirror/ops/), so that loading
 * the op table does not load tfjs.
 */
export interface OpSpec {
  readonly opType: string;
  /** '' is the default ONNX domain (also written 'ai.onnx'). */
  readonly domain: string;
  readonly infer: ShapeRule;
  /** The inputs ONNX requires, by name in input order: a node without one of them is invalid (checked before `infer`). */
  readonly requiredInputs?: readonly string[];
  /** Absent for ops that do no multiply-accumulate under the convention of passes/accounting.ts. */
  readonly macs?: MacRule;
  /** Inputs whose float initializers are learnable parameters (weights, biases, normalization scales). */
  readonly parameterInputs?: readonly number[];
  /** Inputs whose float initializers are the weights of a contraction (Conv, Gemm, MatMul), not biases: what PEMN masks and rebuilds. */
  readonly weightInputs?: readonly number[];
  /** Inputs whose float initializers are state that is not learned (BatchNorm running statistics). */
  readonly bufferInputs?: readonly number[];
  /** How the op maps, creates, ties or blocks channels (ZIG analysis); absent: not understood, its channels are pinned. */
  readonly channels?: ChannelRule;
  /** Rewrites channel counts the op encodes besides its sliced weights (group, Reshape target, Split sizes). */
  readonly prune?: PruneRule;
}
