/**
 * Pass: physically remove zero-invariant groups.
 *
 * Input: a Model, its GroupAnalysis and shape facts (both computed on this model), and the ids
 * of prunable ZIGs to remove. Output (in place): every slice of those groups is cut from its
 * initializer (stems, per-channel parameters, consumer rows/columns, BN statistics), ops that
 * encode channel counts are rewritten through their op-table prune rule, value_info shapes
 * follow, and nodes left without users are removed. When the removed groups are exactly zero,
 * the pruned model computes the same outputs as before.
 */
import { GraphBuilder } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model, Node, Value } from '../src/ir/graph.js';
import { makeTensor, type Tensor } from '../src/ir/tensor.js';
import { withoutIndices } from '../src/ir/tensor-slice.js';
import { OtocError } from '../src/errors.js';
import { indexOf, layoutSize, type KeptChannels, type PruneContext } from '../src/ops/channel-rules.js';
import { opSpec } from '../src/ops/table.js';
import { toInt64 } from '../src/ops/values.js';
import type { GroupAnalysis, SliceRef } from './analyze-groups.js';
import { nodeFacts, type ShapeAnalysis } from './infer-shapes.js';

export interface PrunePlan {
  removed: ReadonlySet<number>;
  /** Channels that stay, for every tracked value that loses some. */
  kept: Map<Value, KeptChannels>;
  /** Indices to cut, per initializer and axis. */
  cuts: Cuts;
}

/** Work out what removing `zigIds` cuts; refuses groups that are not prunable. */
export function planPruning(analysis: GroupAnalysis, zigIds: Iterable<number>): PrunePlan {
  const removed = new Set(zigIds);
  for (const id of removed) {
    const z = analysis.zigs[id];
    if (!z?.prunable) throw new OtocError(`group ${id} is not prunable: ${z?.reasons.join('; ') ?? 'no such group'}`);
  }
  const kept = new Map<Value, KeptChannels>();
  for (const [value, layout] of analysis.layouts) {
    const n = layoutSize(layout);
    const keptPerAxis = layout.sizes.map(() => new Set<number>());
    let keptElements = 0;
    for (let k = 0; k < n; k++) {
      if (removed.has(analysis.zigOf(layout.base + k))) continue;
      keptElements++;
      indexOf(layout, k).forEach((i, axis) => keptPerAxis[axis].add(i));
    }
    if (keptElements === n) continue;
    const lists = keptPerAxis.map((s) => [...s].sort((a, b) => a - b));
    if (lists.reduce((a, l) => a * l.length, 1) !== keptElements) {
      throw new Error(`internal: pruning would leave '${value.name}' with channels that are not a product of sizes`);
    }
    kept.set(value, { layout, kept: lists });
  }
  return { removed, kept, cuts: sliceCuts([...removed].map((id) => analysis.zigs[id].slices)) };
}

/** `plan`, made for a model, for a clone of it (`values`: where Model.clone() put each value). */
export function planForClone(plan: PrunePlan, values: ReadonlyMap<Value, Value>): PrunePlan {
  const inClone = <T>(map: Map<Value, T>) => new Map([...map].map(([v, x]) => [values.get(v)!, x]));
  return { removed: plan.removed, kept: inClone(plan.kept), cuts: inClone(plan.cuts) };
}

export type Cuts = Map<Value, Map<number, Set<number>>>;

/** The indices the given slices cut, per initializer and axis. */
export function sliceCuts(slices: Iterable<readonly SliceRef[]>): Cuts {
  const cuts: Cuts = new Map();
  for (const list of slices) {
    for (const s of list) {
      const byAxis = cuts.get(s.param) ?? new Map<number, Set<number>>();
      byAxis.set(s.axis, (byAxis.get(s.axis) ?? new Set<number>()).add(s.index));
      cuts.set(s.param, byAxis);
    }
  }
  return cuts;
}

export function applyPruning(model: Model, facts: ShapeAnalysis, plan: PrunePlan): void {
  const graph = model.graph;
  for (const [param, byAxis] of plan.cuts) {
    let t = param.constant!;
    for (const [axis, drop] of byAxis) t = withoutIndices(t, axis, drop);
    param.constant = t;
  }
  for (const node of [...graph.nodes]) {
    const touched = [...node.inputs, ...node.outputs].some((v) => v && plan.kept.has(v));
    const rule = opSpec(node.opType, node.domain)?.prune;
    if (touched && rule) rule(pruneContext(model, node, facts, plan));
  }
  for (const [value, { layout, kept }] of plan.kept) {
    const t = value.type;
    if (t?.kind !== 'tensor' || !t.shape) continue;
    layout.axes.forEach((axis, i) => {
      if (t.shape![axis]) t.shape![axis] = { ...t.shape![axis], value: kept[i].length };
    });
  }
  graph.cleanup();
}

function pruneContext(model: Model, node: Node, facts: ShapeAnalysis, plan: PrunePlan): PruneContext {
  const opset = model.opset(node.domain) ?? 0;
  const keptOf = (v: Value | null | undefined) => (v ? plan.kept.get(v) : undefined);
  return {
    node,
    facts: nodeFacts(node, opset, facts),
    keptIn: (i) => keptOf(node.inputs[i]),
    keptOut: (i) => keptOf(node.outputs[i]),
    replaceInput,
    replaceIntInput: (index, values) => {
      const old = node.inputs[index]?.constant;
      const int32 = old?.dataType === DataType.INT32;
      const data = int32 ? Int32Array.from(values, (v) => Math.min(Math.max(v, -(2 ** 31)), 2 ** 31 - 1)) : BigInt64Array.from(values, toInt64);
      const dims = old?.dims.length === 0 ? [] : [values.length];
      replaceInput(index, makeTensor('', int32 ? DataType.INT32 : DataType.INT64, dims, data));
    },
  };

  function replaceInput(index: number, tensor: Tensor): void {
    node.setInput(index, new GraphBuilder(model.graph).initializer(tensor, `${node.inputs[index]?.name || node.name}_pruned`));
  }
}
