/**
 * Distillation as a pipeline input: the teacher's outputs become per-sample targets of the
 * training and validation samples (cached when they fit in memory, else computed per batch), the
 * run's objective becomes the distillation objective (with cross-entropy where the data is
 * labeled), and the verify stage learns which teacher to measure the small model against.
 */
import { totalmem } from 'node:os';
import { gatherSamples, sliceSamples, type Batch, type SampleTensor, type Samples } from '../data/samples.js';
import { OtocError } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { dimsToShape, formatShape } from '../ir/types.js';
import { crossEntropyObjective } from '../objectives/cross-entropy.js';
import { distillationObjective, type DistilledOutput, type OutputKind } from '../objectives/distillation.js';
import type { ObjectivePlugin, ObjectiveUse } from '../objectives/objective.js';
import { Teacher, type TeacherOutput } from '../runtime/teacher.js';
import type { TrainingData } from '../train/trainer.js';
import type { PipelineInput } from './plan.js';

export interface DistillationOptions {
  /** The teacher model (bytes, or its file) and its name in messages and the report. */
  teacher: { model: Uint8Array | string; file: string };
  temperature: number;
  /** α: the distillation loss's weight against cross-entropy's (1 − α) when the data is labeled. */
  weight: number;
  /** Outputs distilled by their scaled MSE whatever their shape. */
  mseOutputs?: readonly string[];
  /** Memory the cached targets may take; more are computed per batch. Default: a quarter of the machine's memory. */
  cacheBytes?: number;
}

/** What the verify stage measures the small model against. */
export interface DistillationTeacher {
  model: Uint8Array | string;
  file: string;
  outputs: DistilledOutput[];
  /** The objective's weights, for the report. */
  weight: number;
  temperature: number;
}

/** How distillation was set up, for the command's output. */
export interface DistillationSetup {
  outputs: (DistilledOutput & { sampleDims: number[] })[];
  /** Outputs left out: not float (an index, a mask), so no gradient reaches them. */
  skipped: string[];
  /** Whether the teacher's outputs are held for every sample (else computed per batch). */
  cached: boolean;
  /** The objective's weight on the distillation loss (1 without labels). */
  weight: number;
}

/** Samples whose variance scales an output's MSE when the targets are not cached. */
const VARIANCE_SAMPLES = 2048;

/** `input` distilled from `options.teacher`: targets, objectives and the teacher for verification. */
export async function withDistillation(input: PipelineInput, options: DistillationOptions): Promise<{ input: PipelineInput; setup: DistillationSetup }> {
  const teacher = await Teacher.load(options.teacher.model, options.teacher.file);
  let streaming = false;
  try {
    const { train, val } = input.data;
    const probe = await teacher.outputs(sliceSamples(train, 0, 1));
    const kinds = outputKinds(input.model, probe.outputs, options.mseOutputs ?? [], options.teacher.file);
    const names = kinds.map((k) => k.name);
    const perSample = kinds.reduce((a, k) => a + k.sampleDims.reduce((x, y) => x * y, 4), 0);
    const cached = perSample * (train.count + (val?.count ?? 0)) <= (options.cacheBytes ?? totalmem() / 4);
    const targetsOf = (samples: Samples) => teacherTargets(teacher, samples, names);
    let data: TrainingData;
    let variances: SampleTensor[];
    if (cached) {
      const [trainTargets, valTargets] = [await targetsOf(train), val && (await targetsOf(val))];
      data = { train: { ...train, targets: trainTargets }, ...(val && { val: { ...val, targets: valTargets } }) };
      variances = trainTargets;
    } else {
      streaming = true;
      data = { ...input.data, complete: async (batch: Batch) => ({ ...batch, targets: await targetsOf(batch) }) };
      const first = Array.from({ length: Math.min(train.count, VARIANCE_SAMPLES) }, (_, i) => i);
      variances = await targetsOf(gatherSamples(train, first));
    }
    const outputs: DistilledOutput[] = kinds.map(({ name, kind }) => {
      const values = variances.find((t) => t.name === name)!.data;
      return kind === 'logits' ? { name, kind } : { name, kind, variance: varianceOf(values, options.teacher.file, name) };
    });
    const labeled = train.labels !== undefined;
    const weight = labeled ? options.weight : 1;
    const distill: ObjectiveUse = { plugin: distillationObjective as ObjectivePlugin, settings: { outputs, temperature: options.temperature }, weight };
    const ce: ObjectiveUse = { plugin: crossEntropyObjective as ObjectivePlugin, settings: {}, weight: 1 - weight };
    const objectives = weight === 1 ? [distill] : weight === 0 ? [ce] : [ce, distill];
    const setup: DistillationSetup = {
      outputs: kinds.map((k, i) => ({ ...outputs[i], sampleDims: k.sampleDims })),
      skipped: probe.outputs.filter((o) => !o.isFloat).map((o) => o.name),
      cached,
      weight,
    };
    const verifiedAgainst: DistillationTeacher = { model: options.teacher.model, file: options.teacher.file, outputs, weight, temperature: options.temperature };
    return { input: { ...input, data, objectives, teacher: verifiedAgainst }, setup };
  } finally {
    // Computing targets per batch keeps the session for the whole run.
    if (!streaming) await teacher.dispose();
  }
}

/** The teacher's outputs named `names`, on `samples`. */
async function teacherTargets(teacher: Teacher, samples: Samples, names: readonly string[]): Promise<SampleTensor[]> {
  return (await teacher.outputs(samples)).values.filter((t) => names.includes(t.name));
}

/**
 * How each float output of the model is distilled: logits when it is [N, C] with C ≥ 2 and not
 * named in `mseOutputs`, else values. The teacher must give each one, with the same per-sample dims.
 */
export function outputKinds(
  model: Model,
  teacherOutputs: readonly TeacherOutput[],
  mseOutputs: readonly string[],
  teacherFile: string,
): { name: string; kind: OutputKind; sampleDims: number[] }[] {
  const names = model.graph.outputs.map((v) => v.name);
  const unknown = mseOutputs.find((n) => !names.includes(n));
  if (unknown) throw new OtocError(`--mse-outputs names '${unknown}', which is not a model output (outputs: ${names.join(', ')})`);
  return model.graph.outputs.flatMap((v) => {
    const taught = teacherOutputs.find((o) => o.name === v.name);
    if (!taught) throw new OtocError(`the teacher has no output '${v.name}' (it has ${teacherOutputs.map((o) => `'${o.name}'`).join(', ')})`, teacherFile);
    const declared = v.type?.kind === 'tensor' && v.type.shape ? dimsToShape(v.type.shape).slice(1) : undefined;
    if (declared && (declared.length !== taught.sampleDims.length || declared.some((d, i) => typeof d === 'number' && d !== taught.sampleDims[i]))) {
      throw new OtocError(`the output '${v.name}' is ${formatShape(['N', ...declared])} in the model, ${formatShape(['N', ...taught.sampleDims])} in the teacher`, teacherFile);
    }
    if (!taught.isFloat) return [];
    const logits = taught.sampleDims.length === 1 && taught.sampleDims[0] >= 2 && !mseOutputs.includes(v.name);
    return [{ name: v.name, kind: logits ? ('logits' as const) : ('values' as const), sampleDims: taught.sampleDims }];
  });
}

/** The variance of all of an output's values; an OtocError when it is zero (a constant output teaches nothing). */
function varianceOf(values: ArrayLike<number>, file: string, name: string): number {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - mean) ** 2;
  const variance = sum / values.length;
  if (!(variance > 0)) throw new OtocError(`the output '${name}' is the same for every sample: there is nothing to distill from it`, file);
  return variance;
}
