/**
 * The verify stage: run the trained full model and the small model in onnxruntime, check that
 * they are equivalent, and measure what the report states about both — accuracy on the
 * evaluation samples and batch-1 latency.
 */
import { sliceSamples, type Samples } from '../data/samples.js';
import type { Model } from '../ir/graph.js';
import { NO_OVERRIDES, type ShapeOverrides } from '../ir/input-shapes.js';
import { DEFAULT_TOLERANCE, type Tolerance } from '../runtime/compare-outputs.js';
import { checkEquivalence, type EquivalenceReport } from '../runtime/equivalence.js';
import { accuracy, sampleFeeds } from '../runtime/evaluate.js';
import { inputSets } from '../runtime/inputs.js';
import { measureLatencies } from '../runtime/latency.js';
import { createSession, type Feeds } from '../runtime/ort.js';
import { agreement } from '../runtime/agreement.js';
import type { OutputKind } from '../objectives/distillation.js';
import type ort from 'onnxruntime-node';
import type { DistillationTeacher } from './distill.js';

export interface Evaluation {
  split: 'val' | 'test';
  samples: Samples;
}

export interface Verification {
  /** Present when the evaluation samples are labeled. */
  accuracy?: { split: 'val' | 'test'; samples: number; full: number; small: number };
  /** The small model against the teacher, in a distilled run. */
  distillation?: DistillationMeasures;
  latency: { runs: number; fullMs: number; smallMs: number };
  equivalence: { equivalent: boolean; maxAbsDiff: number; atol: number; rtol: number; inputSets: number; reason?: string };
}

export interface DistillationMeasures {
  teacher: string;
  /** The objective's weight on distillation (1 − it on cross-entropy), and its temperature. */
  weight: number;
  temperature: number;
  split: 'val' | 'test';
  samples: number;
  outputs: { name: string; kind: OutputKind; relativeError: number; maxAbsDiff: number; agreement?: { top1: number } }[];
  /** Top-1 accuracy of the teacher and the small model, when the evaluation samples are labeled. */
  accuracy?: { teacher: number; small: number };
}

/** Random input sets on top of real samples for the equivalence check. */
const RANDOM_INPUT_SETS = 4;
const REAL_INPUT_SETS = 4;
export const LATENCY_RUNS = 50;

export interface VerifyOptions {
  latencyRuns?: number;
  shapes?: ShapeOverrides;
  /** How close the outputs must be (default atol = rtol = 1e-4). */
  tolerance?: Tolerance;
  /** Distillation's teacher: the small model's outputs are also measured against its. */
  teacher?: DistillationTeacher;
}

/**
 * Verifies `small` (serialized; `smallModel` declares its inputs) against the trained `full`
 * model; random inputs take the sizes of `shapes` (--shape).
 */
export async function verifyAndMeasure(
  full: Uint8Array,
  small: Uint8Array,
  smallModel: Model,
  evaluation: Evaluation,
  { latencyRuns = LATENCY_RUNS, shapes = NO_OVERRIDES, tolerance = DEFAULT_TOLERANCE, teacher }: VerifyOptions = {},
): Promise<Verification> {
  const { fullSession, smallSession, feeds, equivalence } = await checkSmallModel(full, small, smallModel, evaluation.samples, { shapes, tolerance });
  const [fullLatency, smallLatency] = await measureLatencies([fullSession, smallSession], feeds[0], latencyRuns);
  const { split, samples } = evaluation;
  return {
    ...(samples.labels && {
      accuracy: { split, samples: samples.count, full: await accuracy(fullSession, samples), small: await accuracy(smallSession, samples) },
    }),
    ...(teacher && { distillation: await distillationMeasures(teacher, smallSession, evaluation) }),
    latency: { runs: latencyRuns, fullMs: fullLatency.medianMs, smallMs: smallLatency.medianMs },
    equivalence,
  };
}

/**
 * Checks `small` against `full` in onnxruntime on the first real samples and random inputs of the
 * sizes `shapes` gives; the sessions and feeds stay for further measurements.
 */
export async function checkSmallModel(
  full: Uint8Array,
  small: Uint8Array,
  smallModel: Model,
  samples: Samples,
  { shapes = NO_OVERRIDES, tolerance = DEFAULT_TOLERANCE }: { shapes?: ShapeOverrides; tolerance?: Tolerance } = {},
) {
  const [fullSession, smallSession] = [await createSession(full), await createSession(small)];
  const feeds: Feeds[] = [
    ...firstSamples(samples),
    ...inputSets({ kind: 'random', count: RANDOM_INPUT_SETS, seed: 0, shapes }, smallModel, fullSession.inputNames),
  ];
  const report = await checkEquivalence(
    { label: 'trained full model', session: fullSession },
    { label: 'small model', session: smallSession },
    feeds,
    tolerance,
  );
  return { fullSession, smallSession, feeds, equivalence: equivalenceSection(report, tolerance) };
}

async function distillationMeasures(teacher: DistillationTeacher, small: ort.InferenceSession, { split, samples }: Evaluation): Promise<DistillationMeasures> {
  const session = await createSession(teacher.model);
  try {
    const logits = new Set(teacher.outputs.filter((o) => o.kind === 'logits').map((o) => o.name));
    const a = await agreement(session, small, samples, logits);
    return {
      teacher: teacher.file,
      weight: teacher.weight,
      temperature: teacher.temperature,
      split,
      samples: a.samples,
      outputs: a.outputs.map(({ name, relativeError, maxAbsDiff, top1 }) => ({
        name,
        kind: logits.has(name) ? 'logits' : 'values',
        relativeError,
        maxAbsDiff,
        ...(top1 !== undefined && { agreement: { top1 } }),
      })),
      ...(a.accuracy && { accuracy: { teacher: a.accuracy.reference, small: a.accuracy.candidate } }),
    };
  } finally {
    await session.release();
  }
}

/** The first few samples, one per input set, batch 1 (the model file may fix the batch). */
function firstSamples(samples: Samples): Feeds[] {
  return Array.from({ length: Math.min(REAL_INPUT_SETS, samples.count) }, (_, i) => sampleFeeds(sliceSamples(samples, i, i + 1)));
}

function equivalenceSection(r: EquivalenceReport, tolerance: Tolerance): Verification['equivalence'] {
  return {
    equivalent: r.equivalent,
    maxAbsDiff: Math.max(0, ...r.outputs.map((o) => o.maxAbsDiff)),
    atol: tolerance.atol,
    rtol: tolerance.rtol,
    inputSets: r.runs,
    ...(r.reason ? { reason: r.reason } : {}),
  };
}
