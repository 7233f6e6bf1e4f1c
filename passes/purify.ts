/**
 * Pass: purification — the dead channels, which can go beside the zero groups.
 *
 * Input: a GroupAnalysis and the ZIGs that go (the zero ones, or a selection about to be zeroed).
 * Output: the prunable ZIGs that are dead once those go: nothing reads their channels any more,
 * whatever their producer's weights. A ZIG is dead when every node that reads one of its values
 * either carries the channel on (an output of the node holds the same ZIG) or reads it through a
 * consumer slice, and every consumer slice is zero except where the groups that go cut it (a
 * removed channel's row of the next conv). Removing a dead ZIG then changes no output: its readers
 * multiplied it by zeros. Graph outputs and unknown readers pin channels in the analysis, so they
 * are never dead. Removing a group cuts its stem's rows from other groups' consumer slices, so
 * the search repeats to a fixed point. (The converse, that a zero channel's consumer slices go,
 * is what removing a zero group already does.) The IR is not changed.
 */
import type { Node, Value } from '../src/ir/graph.js';
import { sliceIsZero } from '../src/ir/tensor-slice.js';
import { layoutSize } from '../src/ops/channel-rules.js';
import type { GroupAnalysis, Zig } from './analyze-groups.js';
import { sliceCuts } from './prune-groups.js';

/** The prunable ZIGs outside `going` that are dead once `going` and they are removed. */
export function deadGroups(analysis: GroupAnalysis, going: readonly number[]): number[] {
  const removed = new Set(going);
  const values = valuesByZig(analysis);
  const candidates = analysis.zigs.filter((z) => z.prunable && !removed.has(z.id) && readOnlyThroughSlices(z, values.get(z.id) ?? new Set()));
  const dead: number[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    const cuts = sliceCuts([...removed].map((id) => analysis.zigs[id].slices));
    for (const z of candidates) {
      if (removed.has(z.id)) continue;
      const unread = z.slices.every((s) => s.kind !== 'consumer' || sliceIsZero(s.param.constant!, s.axis, s.index, cuts.get(s.param)));
      if (!unread) continue;
      removed.add(z.id);
      dead.push(z.id);
      changed = true;
    }
  }
  return dead.sort((a, b) => a - b);
}

/** Whether every node that reads a value of `z` carries the channel on or reads it through one of `z`'s consumer slices. */
function readOnlyThroughSlices(z: Zig, values: ReadonlySet<Value>): boolean {
  const slicing = new Set<Node>(z.slices.filter((s) => s.kind === 'consumer').map((s) => s.node));
  for (const v of values) {
    for (const reader of v.consumers) {
      if (slicing.has(reader)) continue;
      if (!reader.outputs.some((out) => out && values.has(out))) return false;
    }
  }
  return true;
}

/** The tracked values that hold channels of each ZIG, by ZIG id. */
function valuesByZig(analysis: GroupAnalysis): Map<number, Set<Value>> {
  const byZig = new Map<number, Set<Value>>();
  for (const [value, layout] of analysis.layouts) {
    for (let k = 0; k < layoutSize(layout); k++) {
      const id = analysis.zigOf(layout.base + k);
      const set = byZig.get(id) ?? new Set<Value>();
      set.add(value);
      byZig.set(id, set);
    }
  }
  return byZig;
}
