/** Purification: channels that nothing reads any more are pruned with the zero groups, and the small model computes the same. */
import { describe, expect, it } from 'vitest';
import { formatPruneSummary, pruneSummary } from '../src/cli/prune.js';
import type { Model } from '../src/ir/graph.js';
import { floatData } from '../src/ir/tensor.js';
import { encodeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel } from '../src/pipeline/prune.js';
import { checkSmallModel } from '../src/pipeline/measure.js';
import { deadGroups } from '../passes/purify.js';
import type { GroupAnalysis } from '../passes/analyze-groups.js';
import { zeroGroups } from '../passes/select-groups.js';
import { OpModel, attr } from './tiny-models.js';

/**
 * x → conv1 (4 channels) → Relu → conv2 (3) → Relu → GlobalAveragePool → Flatten → Gemm (5).
 * conv2 reads none of conv1's channel 1 (its input slice is zero); the Gemm reads none of conv2's
 * channel 0, whose filter is the only one that reads conv1's channel 3. No group is zero.
 */
function deadChannels(conv1Output = false): Model {
  const m = new OpModel(13, 5);
  const x = m.input('x', ['N', 2, 8, 8]);
  const [w1, w2, w3] = [m.weight('w1', [4, 2, 3, 3]), m.weight('w2', [3, 4, 3, 3]), m.weight('w3', [5, 3])];
  const pads = { pads: attr.ints([1, 1, 1, 1]) };
  const h1 = m.node('Relu', [m.node('Conv', [x, w1, m.weight('b1', [4])], pads)]);
  const h2 = m.node('Relu', [m.node('Conv', [h1, w2, m.weight('b2', [3])], pads)]);
  const y = m.node('Gemm', [m.node('Flatten', [m.node('GlobalAveragePool', [h2])]), w3, m.weight('b3', [5])], { transB: attr.int(1) });
  const [d2, d3] = [floatData(w2.constant!), floatData(w3.constant!)];
  const at = (o: number, i: number, k: number) => ((o * 4 + i) * 9 + k);
  for (let o = 0; o < 3; o++) for (let k = 0; k < 9; k++) d2[at(o, 1, k)] = 0;
  for (let o = 1; o < 3; o++) for (let k = 0; k < 9; k++) d2[at(o, 3, k)] = 0;
  for (let o = 0; o < 5; o++) d3[o * 3] = 0;
  return conv1Output ? m.finish(y, h1) : m.finish(y);
}

/** The ZIG whose stem is channel `index` of weight `param`. */
function stem(groups: GroupAnalysis, param: string, index: number): number {
  return groups.zigs.find((z) => z.slices.some((s) => s.kind === 'stem' && s.param.name === param && s.index === index))!.id;
}

describe('purification', () => {
  it('finds the channels nothing reads, through a channel whose only reader is dead itself', () => {
    const { groups } = analyzeModel(deadChannels());
    expect(zeroGroups(groups)).toEqual([]);
    const dead = deadGroups(groups, []);
    expect(dead).toEqual([stem(groups, 'w1', 1), stem(groups, 'w1', 3), stem(groups, 'w2', 0)].sort((a, b) => a - b));
  });

  it('prunes them with the zero groups, and onnxruntime finds the small model equal to the full one', async () => {
    const outcome = pruneModel(analyzeModel(deadChannels()));
    expect(outcome).toMatchObject({ zeroGroups: 0, removedGroups: 3, removedDead: 3 });
    const dims = (name: string) => outcome.small.graph.lookup(name)!.constant!.dims;
    expect(dims('w1')).toEqual([2, 2, 3, 3]);
    expect(dims('w2')).toEqual([2, 2, 3, 3]);
    expect(dims('w3')).toEqual([5, 2]);
    const samples = { count: 2, inputs: [{ name: 'x', sampleDims: [2, 8, 8], data: new Float32Array(256).map((_, i) => Math.sin(i)) }] };
    const check = await checkSmallModel(outcome.full, encodeModel(outcome.small).model, outcome.small, samples);
    expect(check.equivalence.equivalent).toBe(true);
    expect(check.equivalence.maxAbsDiff).toBeLessThan(1e-5);
    expect(formatPruneSummary('m.onnx', 'small.onnx', pruneSummary(outcome, []))).toMatch(/removed 3 of 7 prunable groups \(0 zero, 3 dead: nothing read them\)/);
  });

  it('leaves a channel that reaches a graph output, whatever reads it', () => {
    const { groups } = analyzeModel(deadChannels(true));
    expect(deadGroups(groups, [])).toEqual([stem(groups, 'w2', 0)]);
  });
});
