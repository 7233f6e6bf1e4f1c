/** One forward pass of the mirror: the tensors of every value and the context each kernel runs in. */
import type * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import type { Node, Value } from '../ir/graph.js';
import type { NodeFacts } from '../ops/spec.js';
import { AxisOrder, Held, TfjsContext, onnxDims } from './ops/rule.js';
import { numbers } from '../ops/values.js';
import { reorder, withRank } from './layout.js';

/** A value's tensor as held, with its conversions to the other order made so far in this pass. */
interface Slot {
  held: Held;
  converted: Partial<Record<AxisOrder, tf.Tensor>>;
}

/** The tensor of a value no node computes (graph input, parameter, buffer, constant); undefined when it has none. */
export type ValueSource = (v: Value) => tf.Tensor | undefined;

export class ForwardPass {
  private readonly slots = new Map<Value, Slot>();
  /** New running statistics, per buffer, kept once the pass ends. */
  readonly bufferUpdates = new Map<Value, tf.Tensor>();

  constructor(private readonly source: ValueSource) {}

  set(v: Value, held: Held): void {
    // Below rank 3 both orders are the same; saying so spares conversions.
    const order = held.tensor.rank < 3 ? 'onnx' : held.order;
    this.slots.set(v, { held: { tensor: held.tensor, order }, converted: { [order]: held.tensor } });
  }

  slot(v: Value): Slot {
    let slot = this.slots.get(v);
    if (!slot) {
      const tensor = this.source(v);
      if (!tensor) throw new OtocError(`no value for '${v.name}'`);
      this.set(v, { tensor, order: 'onnx' });
      slot = this.slots.get(v)!;
    }
    return slot;
  }

  /** The tensor of `v` in `order`; see TfjsContext.input for `rank`. */
  tensor(v: Value, order: AxisOrder = 'onnx', rank?: number): tf.Tensor {
    const slot = this.slot(v);
    const t = slot.held.tensor;
    if (rank !== undefined && order === 'channelsLast' && t.rank < rank) {
      // A size-1 tensor broadcasts in any order; anything else is aligned as numpy does, then reordered.
      return t.size === 1 ? t : reorder(withRank(this.tensor(v), rank), 'onnx', order);
    }
    return (slot.converted[order] ??= reorder(t, slot.held.order, order));
  }
}

/** The context of one node in a pass. */
export class NodeContext implements TfjsContext {
  constructor(
    private readonly pass: ForwardPass,
    private readonly node: Node,
    private readonly facts: NodeFacts,
    readonly training: boolean,
    readonly seed: number | undefined,
    readonly statisticsMomentum: number | undefined,
  ) {}

  has(index: number): boolean {
    return Boolean(this.node.inputs[index]);
  }

  input(index: number, order: AxisOrder = 'onnx', rank?: number): tf.Tensor {
    return this.pass.tensor(this.value(index), order, rank);
  }

  order(index: number): AxisOrder {
    return this.pass.slot(this.value(index)).held.order;
  }

  shape(index: number): number[] {
    const held = this.pass.slot(this.value(index)).held;
    return onnxDims(held.tensor.shape, held.order);
  }

  values(index: number): number[] {
    return numbers(this.facts.input(index)) ?? Array.from(this.input(index).dataSync(), Number);
  }

  setBuffer(index: number, value: tf.Tensor): void {
    this.pass.bufferUpdates.set(this.value(index), value);
  }

  private value(index: number): Value {
    const v = this.node.inputs[index];
    if (!v) throw new OtocError(`node ${this.node.label()}: input ${index} is missing`);
    return v;
  }
}
