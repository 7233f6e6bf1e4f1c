/**
 * The rate search's candidate scoring (src/methods/admm/evaluate.ts): the tfjs mirror with masks
 * and onnxruntime on the pruned copy score a candidate alike, with the running statistics as the
 * model has them or re-estimated on training images; re-estimation leaves the model's own alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, modelImageSamples, spreadSamples, type DataSplits } from '../src/data/index.js';
import { floatData } from '../src/ir/tensor.js';
import { candidateEvaluator } from '../src/methods/admm/evaluate.js';
import { rateSets, removedCounts, selection } from '../src/methods/admm/rates.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { trainedOneEpoch } from '../bench/search-eval.js';
import { smallCnn } from './pipeline-input.js';

let data: DataSplits;

beforeAll(async () => {
  await initBackend('wasm');
  data = await loadDataset('fashion-mnist', { valSplit: 64, limit: 1000 });
});

describe('candidate scoring', () => {
  it('agrees between the mirror and onnxruntime, with and without re-estimated statistics, and keeps the model\'s statistics', async () => {
    // An untrained model ties its logits, which the two runtimes break apart.
    const analysis = analyzeModel(await trainedOneEpoch(smallCnn(), data, 'wasm')).groups;
    const samples = modelImageSamples(analysis.model, data.val!);
    const statistics = { samples: spreadSamples(modelImageSamples(analysis.model, data.train), 96), batchSize: 32 };
    const sets = rateSets(analysis, { channelFloor: 0, groupDivisible: 1 });
    const zero = selection(analysis, sets, removedCounts(sets, sets.sizes.map(() => 0.4))!);
    expect(zero.length).toBeGreaterThan(0);
    const statisticsOf = () =>
      analysis.model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').map((n) => [3, 4].map((i) => Array.from(floatData(n.input(i)!.constant!))));
    const before = statisticsOf();
    expect(before.length).toBeGreaterThan(0);

    const scores: Record<string, number[]> = {};
    for (const [name, stats] of [['plain', undefined], ['adapted', statistics]] as const) {
      for (const runtime of ['mirror', 'onnxruntime'] as const) {
        const evaluator = candidateEvaluator(runtime, analysis, samples, stats);
        try {
          (scores[name] ??= []).push(await evaluator.accuracy(zero), await evaluator.accuracy(zero), await evaluator.accuracy([]));
        } finally {
          evaluator.dispose();
        }
      }
    }
    for (const s of Object.values(scores)) {
      // Mirror and onnxruntime alike, and a candidate scored again scores the same.
      expect(s.slice(3)).toEqual(s.slice(0, 3));
      expect(s[1]).toBe(s[0]);
    }
    expect(statisticsOf()).toEqual(before);
  });
});
