/**
 * Choosing which ZIGs to remove: the ones that are exactly zero (a model trained with group
 * sparsity), or a random fraction that is zeroed first (the sanity check of the whole pipeline).
 */
import type { Value } from '../src/ir/graph.js';
import type { Tensor } from '../src/ir/tensor.js';
import { zeroSlice, zeroSlices } from '../src/ir/tensor-slice.js';
import { layoutSize } from '../src/ops/channel-rules.js';
import type { Rng } from '../src/util/random.js';
import { isGroupVector, type GroupAnalysis, type Zig } from './analyze-groups.js';

/**
 * Prunable ZIGs whose group vector (stem and per-channel slices) is exactly zero in the
 * initializers, or in the tensors `constantOf` gives for them (a clone's, say).
 */
export function zeroGroups(analysis: GroupAnalysis, constantOf: (param: Value) => Tensor = (v) => v.constant!): number[] {
  const cache = new Map<string, boolean[]>();
  const sliceIsZero = (z: Zig) =>
    z.slices.filter(isGroupVector).every((s) => {
      const key = `${s.param.name}\u0000${s.axis}`;
      let zeros = cache.get(key);
      if (!zeros) {
        zeros = zeroSlices(constantOf(s.param), s.axis);
        cache.set(key, zeros);
      }
      return zeros[s.index];
    });
  return analysis.zigs.filter((z) => z.prunable && sliceIsZero(z)).map((z) => z.id);
}

/**
 * Zero the group vectors of round(fraction · n) of the n prunable ZIGs of every group set,
 * chosen with `rng`; returns their ids. Every tracked value keeps at least one channel.
 */
export function zeroRandomGroups(analysis: GroupAnalysis, fraction: number, rng: Rng): number[] {
  const chosen: number[] = [];
  for (const set of analysis.groupSets) {
    const candidates = set.zigs.filter((z) => z.prunable).map((z) => z.id);
    chosen.push(...rng.shuffle(candidates).slice(0, Math.round(fraction * candidates.length)));
  }
  const ids = removableGroups(analysis, chosen);
  for (const id of ids) {
    for (const s of analysis.zigs[id].slices) if (isGroupVector(s)) zeroSlice(s.param.constant!, s.axis, s.index);
  }
  return ids;
}

/**
 * The groups of `ids` that can go: the first group of any tracked value that would otherwise
 * lose all its channels stays (a zero channel left in place changes nothing).
 */
export function removableGroups(analysis: GroupAnalysis, ids: number[]): number[] {
  const removed = new Set(ids);
  for (const layout of analysis.layouts.values()) {
    const zigs = Array.from({ length: layoutSize(layout) }, (_, k) => analysis.zigOf(layout.base + k));
    if (zigs.length > 0 && zigs.every((z) => removed.has(z))) removed.delete(zigs[0]);
  }
  return ids.filter((id) => removed.has(id));
}
