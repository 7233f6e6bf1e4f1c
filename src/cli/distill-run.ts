/** What the distillation and mode options (distill-options.ts) ask for once the data is known, and the setup they make. */
import { OtocError } from '../errors.js';
import { fileSha256 } from '../io/digest.js';
import { withDistillation, type DistillationSetup } from '../pipeline/distill.js';
import type { PipelineInput } from '../pipeline/plan.js';
import { resolveMode, type TrainingMode } from '../train/mode.js';
import type { DistillArgs } from './distill-options.js';

/** What the options ask for once the data is known: distillation or not, and the mode. */
export interface DistillChoice {
  distill: boolean;
  mode: TrainingMode;
  /** Why this mode, for the command's output. */
  reason: string;
  /** The teacher's file and its digest (a resumed run must have the same teacher). */
  teacher?: { file: string; sha256: string };
}

/**
 * Distillation is on by default when the data has no labels. `ownTeacher` says whether the input
 * model may teach itself (compress: yes; train: a model is already its own outputs, so it needs --teacher).
 */
export function distillChoice(args: DistillArgs, labeled: boolean, ownTeacher: boolean): DistillChoice {
  const distill = args.distill ?? !labeled;
  if (!(args.temperature > 0)) throw new OtocError(`--temperature must be positive, got ${args.temperature}`);
  if (!(args.distillWeight >= 0 && args.distillWeight <= 1)) throw new OtocError(`--distill-weight must be between 0 and 1, got ${args.distillWeight}`);
  if (distill && !ownTeacher && !args.teacher) {
    throw new OtocError(`${labeled ? '--distill' : 'the data has no labels, so training distills: it'} needs a --teacher model to train toward`);
  }
  const { mode, reason } = resolveMode(args.mode, distill);
  const file = args.teacher ?? args.model;
  return { distill, mode, reason, ...(distill && { teacher: { file, sha256: fileSha256(file) } }) };
}

/** `input` with the teacher's targets and objectives when the choice distills; the setup to print. */
export async function distilledInput(args: DistillArgs, choice: DistillChoice, input: PipelineInput): Promise<{ input: PipelineInput; setup?: DistillationSetup }> {
  if (!choice.teacher) return { input };
  const mseOutputs = args.mseOutputs?.split(',').map((s) => s.trim()).filter(Boolean);
  return withDistillation(input, {
    teacher: { model: choice.teacher.file, file: choice.teacher.file },
    temperature: args.temperature,
    weight: args.distillWeight,
    ...(mseOutputs && { mseOutputs }),
  });
}

/** The lines that say how a run trains: its mode and why, and what distillation does to each output. */
export function describeRun(choice: DistillChoice, lr: number, setup: DistillationSetup | undefined, args: DistillArgs): string[] {
  const lines = [`mode: ${choice.mode} (${choice.reason}); lr ${lr}`];
  if (!setup || !choice.teacher) return lines;
  const loss = setup.weight === 1 ? 'distillation alone (no labels)' : setup.weight === 0 ? 'cross-entropy alone (--distill-weight 0)' : `${1 - setup.weight}·cross-entropy + ${setup.weight}·distillation`;
  lines.push(`distillation: teacher ${choice.teacher.file}; loss ${loss}; its outputs ${setup.cached ? 'cached per sample' : 'computed per batch (too large to cache)'}`);
  for (const o of setup.outputs) {
    const how = o.kind === 'logits' ? `logits: KL divergence at T = ${args.temperature}, ×T²` : `MSE / teacher variance ${o.variance!.toPrecision(3)}`;
    lines.push(`  '${o.name}' [N, ${o.sampleDims.join(', ')}]: ${how}`);
  }
  for (const name of setup.skipped) lines.push(`  '${name}': not a float output, not distilled`);
  return lines;
}
