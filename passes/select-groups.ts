/**
 * Choosing which ZIGs to remove: the ones that are exactly zero (a model trained with group
 * sparsity), a random fraction of every group set (the sanity check of the whole pipeline), or
 * the groups of smallest norm (magnitude pruning, and the per-set rates a search proposes).
 * The choices that are not zero yet are zeroed by `zeroGroupVectors` before pruning.
 */
import type { Value } from '../src/ir/graph.js';
import type { Tensor } from '../src/ir/tensor.js';
import { sliceOffsets, zeroSlice, zeroSlices } from '../src/ir/tensor-slice.js';
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

/** round(fraction · n) of the n prunable ZIGs of every group set, chosen with `rng`. */
export function randomGroups(analysis: GroupAnalysis, fraction: number, rng: Rng): number[] {
  const chosen: number[] = [];
  for (const set of analysis.groupSets) {
    const candidates = set.zigs.filter((z) => z.prunable).map((z) => z.id);
    chosen.push(...rng.shuffle(candidates).slice(0, Math.round(fraction * candidates.length)));
  }
  return chosen;
}

/** The L2 norm of every prunable ZIG's group vector, by ZIG id. */
export function groupNorms(analysis: GroupAnalysis): Map<number, number> {
  const norms = new Map<number, number>();
  for (const z of analysis.zigs) {
    if (!z.prunable) continue;
    const values = z.slices.filter(isGroupVector).flatMap((s) => {
      const data = s.param.constant!.data as Float32Array;
      return Array.from(sliceOffsets(s.param.constant!.dims, s.axis, s.index), (j) => data[j]);
    });
    norms.set(z.id, Math.hypot(...values));
  }
  return norms;
}

/** The `count` prunable ZIGs of smallest group-vector norm, over the whole model. */
export function smallestGroups(analysis: GroupAnalysis, count: number, norms = groupNorms(analysis)): number[] {
  return [...norms.keys()].sort((a, b) => norms.get(a)! - norms.get(b)!).slice(0, count);
}

/** Per group set, round(rate · n) of its n prunable ZIGs, those of smallest norm; `rate(i)` is set i's rate. */
export function smallestGroupsPerSet(analysis: GroupAnalysis, rate: (set: number) => number, norms = groupNorms(analysis)): number[] {
  return analysis.groupSets.flatMap((set, i) => {
    const ids = set.zigs.filter((z) => z.prunable).map((z) => z.id);
    return ids.sort((a, b) => norms.get(a)! - norms.get(b)!).slice(0, Math.round(rate(i) * ids.length));
  });
}

/** Zeroes the group vectors of the groups of `ids`. */
export function zeroGroupVectors(analysis: GroupAnalysis, ids: readonly number[]): void {
  for (const id of ids) {
    for (const s of analysis.zigs[id].slices) if (isGroupVector(s)) zeroSlice(s.param.constant!, s.axis, s.index);
  }
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
