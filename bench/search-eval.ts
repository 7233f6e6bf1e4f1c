/**
 * The cost of one candidate of AutoCompress's rate search (src/methods/admm/evaluate.ts), both
 * ways: the tfjs mirror of the full model with the groups masked, or onnxruntime on a copy pruned
 * of them (copy, analysis, prune, session, then the accuracy). fmnist_vgg and fmnist_resnet, each
 * trained one epoch on 2,000 images first so that the accuracies mean something; 1,000 validation
 * images (the search's default), uniform rates 0.1, 0.3, 0.6 and 0.9 of the smallest groups; the median
 * of 3 evaluations per rate and runtime, the two runtimes taking turns. The accuracies of both must
 * agree (a zero group and a removed one compute the same outputs). Each candidate is scored with
 * the full model's BatchNorm statistics, and with them re-estimated on 1,000 training images
 * first (the search's default), which both runtimes do in the mirror.
 */
import { loadDataset, modelImageSamples, sliceSamples, spreadSamples, type DataSplits } from '../src/data/index.js';
import type { Model } from '../src/ir/graph.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { train } from '../src/pipeline/compress.js';
import { BASE_DEFAULTS } from '../src/train/optimizer.js';
import { EVAL_BATCH_SIZE } from '../src/train/trainer.js';
import { CANDIDATE_RUNTIMES, type CandidateRuntime } from '../src/methods/admm/candidate-runtime.js';
import { candidateEvaluator } from '../src/methods/admm/evaluate.js';
import { SEARCH_DEFAULTS } from '../src/methods/admm/index.js';
import { rateSets, removedCounts, selection } from '../src/methods/admm/rates.js';
import { readModel } from '../src/onnx/read.js';
import { corpusModel } from '../src/paths.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BATCH } from './compress-fmnist.js';
import { median, type Benchmark, type ReportRow } from './harness.js';

const MODELS = ['fmnist_vgg', 'fmnist_resnet'];
const RATES = [0.1, 0.3, 0.6, 0.9];
const SAMPLES = 1000;
const REPEATS = 3;
const WARM_UP_IMAGES = 2000;

export const searchEval: Benchmark = {
  name: 'search-eval',
  description: 'AutoCompress search: seconds per candidate, tfjs mirror with masks vs onnxruntime on the pruned copy, with and without re-estimated statistics',
  async run() {
    const backend = await initBackend();
    const data = await loadDataset('fashion-mnist', { valSplit: 0.1, limit: WARM_UP_IMAGES });
    const rows: ReportRow[] = [];
    const results: Record<string, unknown>[] = [];
    for (const name of MODELS) {
      const analyzed = analyzeModel(await trainedOneEpoch(readModel(corpusModel(name)), data, backend));
      const samples = sliceSamples(modelImageSamples(analyzed.model, data.val!), 0, SAMPLES);
      const statistics = { samples: spreadSamples(modelImageSamples(analyzed.model, data.train), SEARCH_DEFAULTS.statistics), batchSize: BATCH };
      const sets = rateSets(analyzed.groups, { channelFloor: 0, groupDivisible: 1 });
      for (const adapted of [false, true]) {
        const evaluators = Object.fromEntries(CANDIDATE_RUNTIMES.map((r) => [r, candidateEvaluator(r, analyzed.groups, samples, adapted ? statistics : undefined)]));
        const scoring = adapted ? `statistics re-estimated on ${SEARCH_DEFAULTS.statistics} training images` : "the full model's statistics";
        for (const rate of RATES) {
          const zero = selection(analyzed.groups, sets, removedCounts(sets, sets.sizes.map(() => rate))!);
          const seconds: Record<string, number[]> = { mirror: [], onnxruntime: [] };
          const accuracies: Record<string, number> = {};
          for (let k = 0; k < REPEATS; k++) {
            for (const runtime of CANDIDATE_RUNTIMES) {
              const start = performance.now();
              accuracies[runtime] = await evaluators[runtime].accuracy(zero);
              seconds[runtime].push((performance.now() - start) / 1000);
            }
          }
          const m = Object.fromEntries(CANDIDATE_RUNTIMES.map((r) => [r, median(seconds[r])])) as Record<CandidateRuntime, number>;
          results.push({ model: name, rate, statistics: adapted ? SEARCH_DEFAULTS.statistics : 0, groupsRemoved: zero.length, seconds: m, accuracy: accuracies });
          rows.push({
            metric: `${name} rate ${rate}, ${scoring}: s per candidate (mirror / onnxruntime)`,
            value: `${m.mirror.toFixed(3)} / ${m.onnxruntime.toFixed(3)} (accuracy ${accuracies.mirror.toFixed(4)} / ${accuracies.onnxruntime.toFixed(4)})`,
            target: 'equal accuracy',
            met: Math.abs(accuracies.mirror - accuracies.onnxruntime) <= 1 / SAMPLES,
          });
        }
        Object.values(evaluators).forEach((e) => e.dispose());
      }
    }
    return { rows, results: { backend, samples: SAMPLES, repeats: REPEATS, candidates: results } };
  },
};

/** `model` after one epoch of SGD on the training images. */
export async function trainedOneEpoch(model: Model, data: DataSplits, backend: string): Promise<Model> {
  const sgd = { ...BASE_DEFAULTS, kind: 'sgd' as const, momentum: 0.9, weightDecay: 5e-4 };
  const trained = await train({
    model,
    data: { train: modelImageSamples(model, data.train) },
    config: { epochs: 1, batchSize: 64, lr: 0.05, schedule: 'cosine', seed: 0, evalBatchSize: EVAL_BATCH_SIZE },
    base: sgd,
    method: { plugin: plainTraining as MethodPlugin, settings: sgd },
    objectives: [CROSS_ENTROPY],
    backend,
  });
  return trained!.model;
}
