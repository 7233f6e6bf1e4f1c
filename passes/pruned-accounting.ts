/**
 * Pass: the parameters and MACs a model would have with some ZIGs removed, counted without
 * removing them.
 *
 * Input: a Model's GroupAnalysis and the input sizes to count at (as accountPerSample). Output:
 * for any set of prunable ZIG ids, what accountPerSample would count on the model that
 * planPruning/applyPruning make of it (each tracked value keeping a channel, as pruneModel
 * removes): parameters from the cut dims of every parameter initializer, MACs from each node's
 * op-table rule on the pruned shapes — a tracked value keeps `kept.length` channels on each
 * layout axis, an initializer loses its cut indices. Dead channels (passes/purify.ts) are not
 * counted out: the model pruneModel makes is at most this big. The IR is not changed. Budgets
 * (src/methods/budget.ts) measure hundreds of candidate prunings with it, where pruning a copy
 * each time would take a model round trip and an analysis.
 */
import type { Value } from '../src/ir/graph.js';
import { NO_OVERRIDES, type ShapeOverrides } from '../src/ir/input-shapes.js';
import { product } from '../src/ops/shape-math.js';
import type { ValueFacts } from '../src/ops/spec.js';
import { opSpec } from '../src/ops/table.js';
import { account, perSampleShapes, type Accounting } from './accounting.js';
import type { GroupAnalysis } from './analyze-groups.js';
import { constantOf } from './fold-constants.js';
import type { ShapeAnalysis } from './infer-shapes.js';
import { planPruning } from './prune-groups.js';
import { removableGroups } from './select-groups.js';

export interface PrunedCounts {
  parameters: number;
  macs: number;
  /** Prunable groups left. */
  groups: number;
}

export class PrunedAccounting {
  /** The counts of the model as it is. */
  readonly full: PrunedCounts;
  private readonly shapes: ShapeAnalysis;
  private readonly accounting: Accounting;

  constructor(
    private readonly analysis: GroupAnalysis,
    shapes: ShapeOverrides = NO_OVERRIDES,
  ) {
    this.shapes = perSampleShapes(analysis.model, shapes);
    this.accounting = account(analysis.model, this.shapes);
    const groups = analysis.zigs.filter((z) => z.prunable).length;
    this.full = { parameters: this.accounting.parameters, macs: this.accounting.totalMacs, groups };
  }

  /** The counts once the groups of `ids` are removed. */
  count(ids: readonly number[]): PrunedCounts {
    const removed = removableGroups(this.analysis, [...ids]);
    const plan = planPruning(this.analysis, removed);
    const changed = new Map<Value, ValueFacts>();
    for (const [v, { layout, kept }] of plan.kept) {
      const facts = this.shapes.get(v);
      if (!facts?.shape) continue;
      const shape = [...facts.shape];
      layout.axes.forEach((axis, i) => (shape[axis] = kept[i].length));
      changed.set(v, { elemType: facts.elemType, shape });
    }
    for (const [v, byAxis] of plan.cuts) {
      const dims = constantOf(v)!.dims.map((d, axis) => d - (byAxis.get(axis)?.size ?? 0));
      changed.set(v, { elemType: this.shapes.get(v)?.elemType ?? constantOf(v)!.dataType, shape: dims });
    }
    const dims = (v: Value) => (changed.get(v)?.shape as number[] | undefined) ?? constantOf(v)!.dims;
    const parameters = this.accounting.parameterValues.reduce((sum, v) => sum + product(dims(v)), 0);
    const model = this.analysis.model;
    let macs = 0;
    for (const { node, macs: before } of this.accounting.nodeMacs) {
      if (before === undefined) continue;
      if (![...node.inputs, ...node.outputs].some((v) => v && changed.has(v))) {
        macs += before;
        continue;
      }
      const of = (v: Value | null | undefined) => (v ? (changed.get(v) ?? this.shapes.get(v)) : undefined);
      const rule = opSpec(node.opType, node.domain)?.macs;
      macs += rule?.({ node, opset: model.opset(node.domain)!, input: (i) => of(node.inputs[i]), output: (i) => of(node.outputs[i]) }) ?? 0;
    }
    return { parameters, macs, groups: this.full.groups - removed.length };
  }
}
