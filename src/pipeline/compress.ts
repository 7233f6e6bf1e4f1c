/**
 * The end of one-shot compression: given a model trained with group sparsity, prune its zero
 * groups and measure everything the report states — sizes, group sparsity, accuracy of both
 * models in onnxruntime, latency, and the equivalence of the small model to the trained full one.
 */
import type { Dataset } from '../data/types.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/graph.js';
import { NO_OVERRIDES, type ShapeOverrides } from '../ir/input-shapes.js';
import { makeTensor } from '../ir/tensor.js';
import { encodeModel } from '../onnx/write.js';
import { DEFAULT_TOLERANCE } from '../runtime/compare-outputs.js';
import { checkEquivalence, type EquivalenceReport } from '../runtime/equivalence.js';
import { accuracy } from '../runtime/evaluate.js';
import { inputSets } from '../runtime/inputs.js';
import { measureLatencies } from '../runtime/latency.js';
import { createSession, type Feeds } from '../runtime/ort.js';
import { pruneModel } from './prune.js';

/** The report's sections that pruning and measuring produce (schemas/report.schema.json). */
export interface CompressionMeasurements {
  full: ModelSize;
  small: ModelSize;
  groupSparsity: { target: number; reached: number; zeroGroups: number; groups: number; removedGroups: number };
  accuracy: { split: 'val' | 'test'; samples: number; full: number; small: number };
  latency: { runs: number; fullMs: number; smallMs: number };
  equivalence: { equivalent: boolean; maxAbsDiff: number; atol: number; rtol: number; inputSets: number; reason?: string };
}

export interface ModelSize {
  parameters: number;
  macs: number;
  fileBytes: number;
}

export interface PruneAndMeasure {
  measurements: CompressionMeasurements;
  /** The trained full model (with its zero groups), serialized. */
  full: Uint8Array;
  /** The pruned model, serialized. */
  small: Uint8Array;
}

/** Random input sets on top of real images for the equivalence check. */
const RANDOM_INPUT_SETS = 4;
const REAL_INPUT_SETS = 4;
const LATENCY_RUNS = 50;

/**
 * Prune the zero groups of the trained `model` (in place) and measure the result on `evaluation`
 * images (`split` names where they come from). `zeroGroups`/`groups` are the optimizer's count.
 * MACs and the random inputs of the equivalence check take the input sizes of `shapes` (--shape).
 */
export async function pruneAndMeasure(
  model: Model,
  evaluation: { data: Dataset; split: 'val' | 'test'; sampleDims: number[] },
  targetSparsity: number,
  shapes: ShapeOverrides = NO_OVERRIDES,
): Promise<PruneAndMeasure> {
  const outcome = pruneModel(model, { shapes });
  const small = encodeModel(model).model;
  const [fullSession, smallSession] = [await createSession(outcome.full), await createSession(small)];
  const input = fullSession.inputNames[0];
  const feeds: Feeds[] = [
    ...realImages(evaluation.data, evaluation.sampleDims, input),
    ...inputSets({ kind: 'random', count: RANDOM_INPUT_SETS, seed: 0, shapes }, model, fullSession.inputNames),
  ];
  const equivalence = await checkEquivalence(
    { label: 'trained full model', session: fullSession },
    { label: 'small model', session: smallSession },
    feeds,
    DEFAULT_TOLERANCE,
  );
  const [fullLatency, smallLatency] = await measureLatencies([fullSession, smallSession], feeds[0], LATENCY_RUNS);
  const size = (a: typeof outcome.before, bytes: number): ModelSize => ({ parameters: a.parameters, macs: a.totalMacs, fileBytes: bytes });
  return {
    full: outcome.full,
    small,
    measurements: {
      full: size(outcome.before, outcome.full.byteLength),
      small: size(outcome.after, small.byteLength),
      groupSparsity: {
        target: targetSparsity,
        reached: outcome.prunableGroups ? outcome.zeroGroups / outcome.prunableGroups : 0,
        zeroGroups: outcome.zeroGroups,
        groups: outcome.prunableGroups,
        removedGroups: outcome.removedGroups,
      },
      accuracy: {
        split: evaluation.split,
        samples: evaluation.data.labels.length,
        full: await accuracy(fullSession, evaluation.data, evaluation.sampleDims),
        small: await accuracy(smallSession, evaluation.data, evaluation.sampleDims),
      },
      latency: { runs: LATENCY_RUNS, fullMs: fullLatency.medianMs, smallMs: smallLatency.medianMs },
      equivalence: equivalenceSection(equivalence),
    },
  };
}

/** The first few images of `data`, one per input set, batch 1 (the model file may fix the batch). */
function realImages(data: Dataset, sampleDims: number[], input: string): Feeds[] {
  const size = sampleDims.reduce((a, b) => a * b, 1);
  const count = Math.min(REAL_INPUT_SETS, data.labels.length);
  return Array.from({ length: count }, (_, i) => ({
    [input]: makeTensor(input, DataType.FLOAT, [1, ...sampleDims], data.images.slice(i * size, (i + 1) * size)),
  }));
}

function equivalenceSection(r: EquivalenceReport): CompressionMeasurements['equivalence'] {
  return {
    equivalent: r.equivalent,
    maxAbsDiff: Math.max(0, ...r.outputs.map((o) => o.maxAbsDiff)),
    atol: DEFAULT_TOLERANCE.atol,
    rtol: DEFAULT_TOLERANCE.rtol,
    inputSets: r.runs,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}
