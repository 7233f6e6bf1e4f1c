import { encodeModel } from '../onnx/write.js';
import { validateModel } from '../ir/validate.js';
import type { Model } from '../ir/graph.js';
import type { ShapeOverrides } from '../ir/input-shapes.js';
import { accountPerSample, type Accounting } from '../../passes/accounting.js';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import { applyPruning, planPruning } from '../../passes/prune-groups.js';
import { deadGroups } from '../../passes/purify.js';
import { randomGroups, removableGroups, zeroGroups, zeroGroupVectors } from '../../passes/select-groups.js';
import { Rng } from '../util/random.js';
import type { AnalyzedModel } from './analyze.js';

export interface PruneOptions {
  /**
   * Groups to zero and remove, in place of the ones that are zero (a selection of
   * passes/select-groups.ts: random for the sanity check, smallest norms for magnitude pruning).
   */
  zero?: (groups: GroupAnalysis) => number[];
  /** Input sizes to count MACs at (--shape); the pruning itself holds for every size the model admits. */
  shapes?: ShapeOverrides;
  /** Called with the full model as pruned from (see PruneOutcome.full), before its groups are removed. */
  onFull?: (full: Model) => void;
}

export interface PruneOutcome {
  /** The full model as pruned from: constants folded and, with `zero`, the chosen groups zeroed. */
  full: Uint8Array;
  small: Model;
  prunableGroups: number;
  /** Groups whose group vector was zero (after zeroing the chosen ones). */
  zeroGroups: number;
  /** Groups removed: the zero ones and the dead ones (each tracked value keeps a channel). */
  removedGroups: number;
  /** Of `removedGroups`, those removed because nothing read them any more (passes/purify.ts), not because they were zero. */
  removedDead: number;
  before: Accounting;
  after: Accounting;
}

/** The sanity check's choice: a random `fraction` of every group set, each tracked value keeping a channel. */
export function randomZero(fraction: number, seed = 0): (groups: GroupAnalysis) => number[] {
  return (groups) => removableGroups(groups, randomGroups(groups, fraction, new Rng(seed)));
}

/** Remove the zero groups and the dead channels of an analyzed model (in place: its model becomes the small model). */
export function pruneModel({ model, groups, facts }: AnalyzedModel, options: PruneOptions = {}): PruneOutcome {
  const before = accountPerSample(model, options.shapes);
  const chosen = options.zero?.(groups);
  if (chosen) zeroGroupVectors(groups, chosen);
  const ids = chosen ?? zeroGroups(groups);
  const dead = new Set(deadGroups(groups, ids));
  const full = encodeModel(model).model;
  options.onFull?.(model);
  const removed = removableGroups(groups, [...ids, ...dead]);
  applyPruning(model, facts, planPruning(groups, removed));
  validateModel(model);
  return {
    full,
    small: model,
    prunableGroups: groups.zigs.filter((z) => z.prunable).length,
    zeroGroups: ids.length,
    removedGroups: removed.length,
    removedDead: removed.filter((id) => dead.has(id)).length,
    before,
    after: accountPerSample(model, options.shapes),
  };
}
