/** Choosing groups to remove: by norm over the model, and at a rate per group set (passes/select-groups.ts). */
import { describe, expect, it } from 'vitest';
import { readModel } from '../src/onnx/read.js';
import { corpusModel } from '../src/paths.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel } from '../src/pipeline/prune.js';
import { groupNorms, smallestGroups, smallestGroupsPerSet, zeroGroups } from '../passes/select-groups.js';

const analyzed = () => analyzeModel(readModel(corpusModel('fmnist_vgg')));

describe('magnitude selections', () => {
  it('take the groups of smallest norm, over the model or per group set', () => {
    const { groups } = analyzed();
    const norms = groupNorms(groups);
    const prunable = groups.zigs.filter((z) => z.prunable);
    expect([...norms.keys()]).toEqual(prunable.map((z) => z.id));
    const chosen = smallestGroups(groups, 10);
    expect(chosen).toHaveLength(10);
    const largestChosen = Math.max(...chosen.map((id) => norms.get(id)!));
    const rest = prunable.filter((z) => !chosen.includes(z.id));
    expect(Math.min(...rest.map((z) => norms.get(z.id)!))).toBeGreaterThanOrEqual(largestChosen);

    const rates = groups.groupSets.map((_, i) => (i % 2 ? 0.5 : 0.25));
    const perSet = smallestGroupsPerSet(groups, (i) => rates[i], norms);
    groups.groupSets.forEach((set, i) => {
      const ids = set.zigs.filter((z) => z.prunable).map((z) => z.id);
      const picked = ids.filter((id) => perSet.includes(id));
      expect(picked).toHaveLength(Math.round(rates[i] * ids.length));
      const kept = ids.filter((id) => !picked.includes(id));
      if (picked.length && kept.length) {
        expect(Math.min(...kept.map((id) => norms.get(id)!))).toBeGreaterThanOrEqual(Math.max(...picked.map((id) => norms.get(id)!)));
      }
    });
  });

  it('zero and remove exactly the chosen groups when the pruner is given them', () => {
    const model = analyzed();
    const chosen = smallestGroups(model.groups, 20);
    const outcome = pruneModel(model, { zero: (groups) => smallestGroups(groups, 20) });
    expect(outcome.zeroGroups).toBe(20);
    expect(outcome.removedGroups).toBe(20);
    expect(outcome.after.parameters).toBeLessThan(outcome.before.parameters);
    const again = analyzeModel(readModel(corpusModel('fmnist_vgg')));
    expect(zeroGroups(again.groups)).toEqual([]);
    expect(chosen).toHaveLength(20);
  });
});
