/** Budgets measured on the small model: the count without pruning, the solve over groups, the options. */
import { describe, expect, it } from 'vitest';
import type { Model } from '../src/ir/graph.js';
import { OtocError } from '../src/errors.js';
import { BudgetMeter, leastMeeting } from '../src/methods/budget.js';
import { rateSets, removedCounts, scaleToBudget, selection } from '../src/methods/admm/rates.js';
import { nominalSparsity, pruningTarget } from '../src/methods/target.js';
import { decodeModel, readModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { Rng } from '../src/util/random.js';
import { accountPerSample } from '../passes/accounting.js';
import { applyPruning, planPruning } from '../passes/prune-groups.js';
import { PrunedAccounting } from '../passes/pruned-accounting.js';
import { groupNorms, randomGroups, removableGroups, smallestGroups, zeroGroupVectors } from '../passes/select-groups.js';
import { corpusModel } from './paths.js';

/** The parameters and MACs of `bytes` pruned of `ids`, by pruning a copy (purification left out, as PrunedAccounting counts). */
function prunedCopy(bytes: Uint8Array, ids: readonly number[]): { parameters: number; macs: number } {
  const copy = analyzeModel(decodeModel(bytes));
  zeroGroupVectors(copy.groups, ids);
  applyPruning(copy.model, copy.facts, planPruning(copy.groups, removableGroups(copy.groups, [...ids])));
  const a = accountPerSample(copy.model);
  return { parameters: a.parameters, macs: a.totalMacs };
}

const load = (name: string): { bytes: Uint8Array; model: Model } => {
  const model = readModel(corpusModel(name));
  return { bytes: encodeModel(model).model, model };
};

describe('counting a pruning without doing it', () => {
  const models = ['fmnist_vgg', 'fmnist_resnet', 'mobilenet_v2', 'lstm_small', 'transformer_block', 'groupconv', 'concat_case', 'unet_small', 'convtranspose'];
  it.each(models)('%s: the same parameters and MACs as the pruned copy, for random selections', (name) => {
    const { bytes } = load(name);
    const { groups } = analyzeModel(decodeModel(bytes));
    const counter = new PrunedAccounting(groups);
    const whole = accountPerSample(decodeModel(bytes));
    expect(counter.full).toMatchObject({ parameters: whole.parameters, macs: whole.totalMacs });
    for (const [fraction, seed] of [[0.3, 1], [0.8, 2]] as const) {
      const ids = randomGroups(groups, fraction, new Rng(seed));
      const counted = counter.count(ids);
      expect({ parameters: counted.parameters, macs: counted.macs }).toEqual(prunedCopy(bytes, ids));
    }
  });
});

describe('reaching a budget', () => {
  it.each([
    ['params', 0.1],
    ['macs', 0.2],
  ] as const)('fmnist_vgg, %s kept %s: the fewest smallest groups that meet it, measured on the pruned copy, with no group to spare', (kind, keep) => {
    const { bytes } = load('fmnist_vgg');
    const { groups } = analyzeModel(decodeModel(bytes));
    const meter = new BudgetMeter(groups, { kind, keep });
    const order = smallestGroups(groups, groups.zigs.length);
    const k = leastMeeting(order.length, (n) => meter.meets(order.slice(0, n)))!;
    const full = prunedCopy(bytes, []);
    const share = (c: { parameters: number; macs: number }) => (kind === 'params' ? c.parameters / full.parameters : c.macs / full.macs);
    expect(share(prunedCopy(bytes, order.slice(0, k)))).toBeLessThanOrEqual(keep);
    expect(share(prunedCopy(bytes, order.slice(0, k - 1)))).toBeGreaterThan(keep);
  });

  it('scales per-set rates onto a budget: fmnist_resnet keeps at most 0.1 of its parameters at uniform rates', () => {
    const { bytes } = load('fmnist_resnet');
    const { groups } = analyzeModel(decodeModel(bytes));
    const sets = rateSets(groups, { channelFloor: 0.05, groupDivisible: 1 });
    const norms = groupNorms(groups);
    const counts = scaleToBudget(groups, sets, sets.sizes.map(() => 1), new BudgetMeter(groups, { kind: 'params', keep: 0.1 }), norms)!;
    const rates = counts.map((c, i) => c / sets.sizes[i]);
    expect(Math.max(...rates) - Math.min(...rates)).toBeLessThan(0.05);
    const full = prunedCopy(bytes, []);
    expect(prunedCopy(bytes, selection(groups, sets, counts, norms)).parameters / full.parameters).toBeLessThanOrEqual(0.1);
    // A budget that would take a set below its floor is refused, not clipped.
    expect(scaleToBudget(groups, sets, sets.sizes.map(() => 1), new BudgetMeter(groups, { kind: 'params', keep: 0.0001 }), norms)).toBeUndefined();
    expect(removedCounts(sets, sets.sizes.map(() => 0.99))).toBeUndefined();
  });
});

describe('the target options', () => {
  it('takes at most one of --target-sparsity, --target-params and --target-macs, none meaning a group sparsity of 0.7', () => {
    expect(pruningTarget({ groupDivisible: 1 })).toEqual({ targetSparsity: 0.7, groupDivisible: 1, channelFloor: 0 });
    const t = pruningTarget({ targetMacs: 0.25, groupDivisible: 1 }, new Map([['input', [1, 1, 28, 28]]]));
    expect(t).toMatchObject({ targetSparsity: nominalSparsity(0.25), budget: { kind: 'macs', keep: 0.25, shapes: { input: [1, 1, 28, 28] } } });
    expect(t.targetSparsity).toBeCloseTo(0.5, 12);
    expect(() => pruningTarget({ targetSparsity: 0.5, targetParams: 0.1, groupDivisible: 1 })).toThrow(
      new OtocError('give at most one of --target-sparsity, --target-params and --target-macs (got --target-sparsity and --target-params)'),
    );
    expect(() => pruningTarget({ targetParams: 0, groupDivisible: 1 })).toThrow(/--target-params must be between 0.001 and 1, got 0/);
  });
});
