/**
 * ZIG group vectors in terms of trainable parameters: for every prunable ZIG, the flat offsets
 * of its stem and per-channel slices (auxiliary slices such as a BN after a Concat included)
 * in each parameter's data. This is what group-sparsity optimizers drive to zero.
 */
import type { Value } from '../ir/graph.js';
import { sliceOffsets } from '../ir/tensor-slice.js';
import { isGroupVector, type GroupAnalysis } from '../../passes/analyze-groups.js';
import type { Parameter } from './optimizer.js';

export interface GroupPart {
  /** Index into the parameter list. */
  param: number;
  offsets: Int32Array;
}

export interface GroupVector {
  zig: number;
  /** Index of the ZIG's group set in the analysis. */
  set: number;
  parts: GroupPart[];
  size: number;
}

/** Group vectors of the prunable ZIGs whose slices are all trainable parameters. */
export function groupVectors(analysis: GroupAnalysis, params: readonly Parameter[]): GroupVector[] {
  const paramIndex = new Map<Value, number>(params.map((p, i) => [p.value, i]));
  const setOf = new Map<number, number>();
  analysis.groupSets.forEach((s, i) => s.zigs.forEach((z) => setOf.set(z.id, i)));
  const vectors: GroupVector[] = [];
  for (const z of analysis.zigs) {
    if (!z.prunable) continue;
    const slices = z.slices.filter(isGroupVector);
    if (!slices.every((s) => paramIndex.has(s.param))) continue;
    const parts = slices.map((s) => ({ param: paramIndex.get(s.param)!, offsets: sliceOffsets(s.param.constant!.dims, s.axis, s.index) }));
    vectors.push({ zig: z.id, set: setOf.get(z.id)!, parts, size: parts.reduce((a, p) => a + p.offsets.length, 0) });
  }
  return vectors;
}
