import { isFloatType } from '../ir/dtype.js';
import type { SymbolicInput } from '../ir/input-shapes.js';
import { elementCount } from '../ir/tensor.js';
import { keptDims } from '../ir/tensor-slice.js';
import type { Accounting } from '../../passes/accounting.js';
import type { GroupAnalysis, GroupSet, Zig } from '../../passes/analyze-groups.js';
import { sliceCuts } from '../../passes/prune-groups.js';

/** `otoc groups --json` (schemas/groups.schema.json). */
export interface GroupsReport {
  model: string;
  totals: {
    groupSets: number;
    channels: number;
    prunableChannels: number;
    parameters: number;
    prunableParameters: number;
    prunableShare: number;
    /** Multiply-accumulates of the whole model (otoc inspect's convention). */
    macs: number;
  };
  groupSets: GroupSetReport[];
  /** Inputs whose shapes still hold symbolic dims after --shape: the MACs count those dims as 1. */
  symbolicInputs?: SymbolicInput[];
}

export interface GroupSetReport {
  id: number;
  channels: number;
  prunableChannels: number;
  /** Learnable parameters the set's groups hold (stems, per-channel, consumer slices). */
  parameters: number;
  prunable: boolean;
  stems: string[];
  perChannel: { param: string; kind: string }[];
  consumers: { param: string; node: string }[];
  values: string[];
  reasons: { reason: string; channels: number }[];
}

/** Learnable parameter elements removed by cutting the slices of `zigs` (BN statistics and non-float constants excluded). */
export function removedParameters(zigs: readonly Zig[]): number {
  const cuts = sliceCuts(zigs.map((z) => z.slices.filter((s) => s.kind !== 'buffer' && isFloatType(s.param.constant!.dataType))));
  let removed = 0;
  for (const [param, byAxis] of cuts) {
    const dims = param.constant!.dims;
    removed += elementCount(dims) - elementCount(keptDims(dims, byAxis));
  }
  return removed;
}

/** The report on `analysis`; `counts` is the model's accounting (parameters and MACs). */
export function groupsReport(model: string, analysis: GroupAnalysis, counts: Pick<Accounting, 'parameters' | 'totalMacs'>): GroupsReport {
  const totalParameters = counts.parameters;
  const sets = analysis.groupSets.filter((s) => s.zigs.some((z) => z.hasStem)).map(setReport);
  const prunableZigs = analysis.zigs.filter((z) => z.prunable);
  const prunableParameters = removedParameters(prunableZigs);
  return {
    model,
    totals: {
      groupSets: sets.length,
      channels: sets.reduce((a, s) => a + s.channels, 0),
      prunableChannels: prunableZigs.length,
      parameters: totalParameters,
      prunableParameters,
      prunableShare: totalParameters ? prunableParameters / totalParameters : 0,
      macs: counts.totalMacs,
    },
    groupSets: sets,
  };
}

function setReport(set: GroupSet, id: number): GroupSetReport {
  const zigs = set.zigs.filter((z) => z.hasStem);
  const slices = set.zigs.flatMap((z) => z.slices);
  const unique = <T>(items: T[], key: (t: T) => string) => [...new Map(items.map((t) => [key(t), t])).values()];
  const reasons = new Map<string, number>();
  for (const z of zigs) for (const r of z.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  const prunableChannels = zigs.filter((z) => z.prunable).length;
  return {
    id,
    channels: zigs.length,
    prunableChannels,
    parameters: removedParameters(set.zigs),
    prunable: prunableChannels > 0,
    stems: set.stems.map((n) => n.name || n.label()),
    perChannel: unique(
      slices.filter((s) => s.kind === 'param' || s.kind === 'follower' || s.kind === 'buffer'),
      (s) => s.param.name,
    ).map((s) => ({ param: s.param.name, kind: s.kind })),
    consumers: unique(
      slices.filter((s) => s.kind === 'consumer'),
      (s) => s.param.name,
    ).map((s) => ({ param: s.param.name, node: s.node.name || s.node.label() })),
    values: set.values.map((v) => v.name),
    reasons: [...reasons].map(([reason, channels]) => ({ reason, channels })),
  };
}
