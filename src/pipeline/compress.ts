/**
 * The pipelines the commands run: compression (the method's plan, by default analyze → train →
 * export → reduce → verify → report) and plain training (analyze → train → export). The CLI and
 * the benchmarks call these; they parse, print and write files around them.
 */
import type { Model } from '../ir/graph.js';
import type { EpochReport } from '../train/observer.js';
import { PipelineContext, type PipelineInput, type RunControl } from './plan.js';
import type { CompressionResult } from './report.js';
import { stages, type StageResults } from './stages.js';

export interface Compression {
  result: CompressionResult;
  /** The trained full model (with its zero groups) and the small model, serialized. */
  full: Uint8Array;
  small: Uint8Array;
}

/** Runs the method's plan; undefined when it was interrupted (a checkpoint was then saved, when asked for). */
export async function compress(input: PipelineInput, control: RunControl = {}): Promise<Compression | undefined> {
  const { plugin, settings } = input.method;
  const all = stages();
  const ctx = new PipelineContext(input, control);
  if (!(await ctx.run(plugin.plan?.(settings, all) ?? all.default))) return undefined;
  return { result: ctx.results.report as CompressionResult, full: ctx.full!, small: ctx.small! };
}

export interface Training {
  /** The trained model. */
  model: Model;
  epochs: EpochReport[];
}

/** Trains the model with the input's method; undefined when it was interrupted. */
export async function train(input: PipelineInput, control: RunControl = {}): Promise<Training | undefined> {
  const { analyze, train, export: exportStage } = stages();
  const ctx = new PipelineContext(input, control);
  if (!(await ctx.run([analyze, train(), exportStage]))) return undefined;
  return { model: ctx.model, epochs: (ctx.results as StageResults).history! };
}
