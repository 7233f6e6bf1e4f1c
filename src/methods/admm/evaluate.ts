/**
 * The search's candidate evaluation: the validation accuracy of the current weights with some
 * groups removed, two ways — in the tfjs mirror of the full model, the groups masked to zero, or in
 * onnxruntime on a copy of the model physically pruned of them. They give the same accuracy (a zero
 * group and a removed one compute the same outputs); bench/search-eval.ts measures which is faster.
 * With statistics samples, each candidate's running statistics are first re-estimated on them in
 * the mirror (src/train/reestimate-statistics.ts), which either runtime then scores with.
 */
import * as tf from '@tensorflow/tfjs';
import { batches, type Samples } from '../../data/samples.js';
import type { Value } from '../../ir/graph.js';
import { buildMirror, type Mirror } from '../../mirror/mirror.js';
import { decodeModel } from '../../onnx/read.js';
import { encodeModel } from '../../onnx/write.js';
import { analyzeModel } from '../../pipeline/analyze.js';
import { accuracy } from '../../runtime/evaluate.js';
import { createSession } from '../../runtime/ort.js';
import { sliceOffsets } from '../../ir/tensor-slice.js';
import type { CandidateRuntime } from './candidate-runtime.js';
import { reestimateStatistics, restoreStatistics, saveStatistics } from '../../train/reestimate-statistics.js';
import { batchTensors } from '../../train/step.js';
import { isGroupVector, type GroupAnalysis } from '../../../passes/analyze-groups.js';
import { applyPruning, planPruning } from '../../../passes/prune-groups.js';
import { removableGroups, zeroGroupVectors } from '../../../passes/select-groups.js';

export interface CandidateEvaluator {
  /** Top-1 accuracy on the samples with the groups of `zero` removed. */
  accuracy(zero: readonly number[]): Promise<number>;
  dispose(): void;
}

/** Samples that re-estimate each candidate's running statistics, in batches of `batchSize`. */
export interface StatisticsSamples {
  samples: Samples;
  batchSize: number;
}

/** The evaluator of `runtime` for the analyzed model's current weights on labeled `samples`. */
export function candidateEvaluator(runtime: CandidateRuntime, analysis: GroupAnalysis, samples: Samples, statistics?: StatisticsSamples): CandidateEvaluator {
  const adapter = statistics && statisticsAdapter(analysis, statistics);
  const evaluator = runtime === 'mirror' ? mirrorEvaluator(analysis, samples, adapter) : onnxruntimeEvaluator(analysis, samples, adapter);
  return {
    accuracy: (zero) => evaluator.accuracy(zero),
    dispose() {
      evaluator.dispose();
      adapter?.dispose();
    },
  };
}

const EVAL_BATCH = 250;

/** A mirror whose running statistics are re-estimated for a candidate, then put back. */
interface StatisticsAdapter {
  /** Runs `use` with the statistics re-estimated under `masks`, then restores the model's. */
  adapted<T>(masks: Map<Value, tf.Tensor>, use: (mirror: Mirror) => Promise<T>): Promise<T>;
  dispose(): void;
}

function statisticsAdapter(analysis: GroupAnalysis, statistics: StatisticsSamples): StatisticsAdapter {
  const mirror = buildMirror(analysis.model);
  const saved = saveStatistics(mirror);
  return {
    async adapted(masks, use) {
      reestimateStatistics(mirror, statistics.samples, statistics.batchSize, masked(masks));
      try {
        return await use(mirror);
      } finally {
        restoreStatistics(saved);
      }
    },
    dispose() {
      tf.dispose([...saved.values()]);
      mirror.dispose();
    },
  };
}

function masked(masks: Map<Value, tf.Tensor>): (param: Value, w: tf.Tensor) => tf.Tensor {
  return (param, w) => {
    const mask = masks.get(param);
    return mask ? tf.mul(w, mask) : w;
  };
}

function mirrorEvaluator(analysis: GroupAnalysis, samples: Samples, adapter: StatisticsAdapter | undefined): CandidateEvaluator {
  const own = adapter ? undefined : buildMirror(analysis.model);
  const score = async (mirror: Mirror, masks: Map<Value, tf.Tensor>) => {
    let correct = 0;
    for (const batch of batches(samples, EVAL_BATCH)) {
      correct += tf.tidy(() => {
        const tensors = batchTensors(batch);
        const [logits] = mirror.forward(tensors.inputs, { training: false, transform: masked(masks) });
        return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tensors.labels!), 'int32')).dataSync()[0];
      });
    }
    return correct / samples.count;
  };
  return {
    async accuracy(zero) {
      const masks = groupMasks(analysis, zero);
      try {
        return await (adapter ? adapter.adapted(masks, (mirror) => score(mirror, masks)) : score(own!, masks));
      } finally {
        tf.dispose([...masks.values()]);
      }
    },
    dispose: () => own?.dispose(),
  };
}

/** Masks that zero the group vectors of `zero`, for the parameters they touch. */
function groupMasks(analysis: GroupAnalysis, zero: readonly number[]): Map<Value, tf.Tensor> {
  const data = new Map<Value, Float32Array>();
  for (const id of zero) {
    for (const s of analysis.zigs[id].slices.filter(isGroupVector)) {
      const dims = s.param.constant!.dims;
      let mask = data.get(s.param);
      if (!mask) data.set(s.param, (mask = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1)));
      for (const j of sliceOffsets(dims, s.axis, s.index)) mask[j] = 0;
    }
  }
  return new Map([...data].map(([v, mask]) => [v, tf.tensor(mask, v.constant!.dims)]));
}

function onnxruntimeEvaluator(analysis: GroupAnalysis, samples: Samples, adapter: StatisticsAdapter | undefined): CandidateEvaluator {
  const bytes = encodeModel(analysis.model).model;
  return {
    async accuracy(zero) {
      const copy = analyzeModel(decodeModel(bytes));
      if (adapter) {
        const masks = groupMasks(analysis, zero);
        try {
          await adapter.adapted(masks, async (mirror) => mirror.exportTo(copy.model));
        } finally {
          tf.dispose([...masks.values()]);
        }
      }
      zeroGroupVectors(copy.groups, zero);
      applyPruning(copy.model, copy.facts, planPruning(copy.groups, removableGroups(copy.groups, [...zero])));
      const session = await createSession(encodeModel(copy.model).model);
      try {
        return await accuracy(session, samples);
      } finally {
        await session.release();
      }
    },
    dispose: () => {},
  };
}
