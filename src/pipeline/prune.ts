import type { Model } from '../ir/graph.js';
import type { ShapeOverrides } from '../ir/input-shapes.js';
import { encodeModel } from '../onnx/write.js';
import { validateModel } from '../ir/validate.js';
import { Rng } from '../util/random.js';
import { accountPerSample, type Accounting } from '../../passes/accounting.js';
import { applyPruning, planPruning } from '../../passes/prune-groups.js';
import { removableGroups, zeroGroups, zeroRandomGroups } from '../../passes/select-groups.js';
import { analyzeModel } from './analyze.js';

export interface PruneOptions {
  /** Zero this fraction of the prunable groups of every group set first (the sanity check). */
  randomZero?: number;
  seed?: number;
  /** Input sizes to count MACs at (--shape); the pruning itself holds for every size the model admits. */
  shapes?: ShapeOverrides;
}

export interface PruneOutcome {
  /** The full model as pruned from: constants folded and, with randomZero, the chosen groups zeroed. */
  full: Uint8Array;
  small: Model;
  prunableGroups: number;
  /** Groups whose group vector was zero (after zeroing them, with randomZero). */
  zeroGroups: number;
  removedGroups: number;
  before: Accounting;
  after: Accounting;
}

/** Remove the zero groups of `model` (in place: `model` becomes the small model). */
export function pruneModel(model: Model, options: PruneOptions = {}): PruneOutcome {
  const { groups, facts } = analyzeModel(model);
  const before = accountPerSample(model, options.shapes);
  const ids =
    options.randomZero === undefined
      ? zeroGroups(groups)
      : zeroRandomGroups(groups, options.randomZero, new Rng(options.seed ?? 0));
  const full = encodeModel(model).model;
  const removed = removableGroups(groups, ids);
  applyPruning(model, facts, planPruning(groups, removed));
  validateModel(model);
  return {
    full,
    small: model,
    prunableGroups: groups.zigs.filter((z) => z.prunable).length,
    zeroGroups: ids.length,
    removedGroups: removed.length,
    before,
    after: accountPerSample(model, options.shapes),
  };
}
