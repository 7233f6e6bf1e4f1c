/**
 * PEMN's own steps of the pipeline: the prototype written into the model before training, the
 * packing after it, and the dense baseline its accuracy is compared with.
 */
import { OtocError, attributedTo } from '../../errors.js';
import { validateModel } from '../../ir/validate.js';
import { readModel } from '../../onnx/read.js';
import { encodeModel } from '../../onnx/write.js';
import type { PipelineContext, PlanStep } from '../../pipeline/plan.js';
import type { Stages, StageResults } from '../../pipeline/stages.js';
import type { Json } from '../../plugins.js';
import { accuracy } from '../../runtime/evaluate.js';
import { createSession } from '../../runtime/ort.js';
import type { BaseOptions } from '../../train/optimizer.js';
import { accountPerSample } from '../../../passes/accounting.js';
import type { MethodPlugin, MethodSession } from '../method.js';
import { plainTraining } from '../plain.js';
import { maskedLayers } from './layers.js';
import { packModel, setLayerWeights, type PackedFileInfo } from './pack.js';
import { buildPrototype, layerWeights, type PrototypeSettings } from './prototype.js';

/** The session's side that the packing reads: each masked layer's mask, from the trained scores. */
export interface PemnSession extends MethodSession {
  masks(): Uint8Array[];
}

/** A dense model to compare the packed one's accuracy with: a trained file, or the input model trained with plain SGD first. */
export type DenseBaseline = { file: string } | { train: { base: BaseOptions; lr: number } };

/** What the packing keeps in the context's state (under `pemn`) for the report. */
export type PackFigures = PackedFileInfo & { denseBytes: number; packedBytes: number; bitsPerWeight: number };

/** What the dense baseline's steps keep (under `pemnDense`). */
export interface DenseFigures {
  source: 'file' | 'trained';
  file?: string;
  /** On the evaluation split, when it is labeled. */
  accuracy?: number;
  epochs?: number;
  seconds?: number;
}

/** Replaces every masked layer's weights with its part of the prototype: the frozen weights the masks select from. */
export function prototypeStep(settings: PrototypeSettings): PlanStep {
  return {
    name: 'prototype',
    async run(ctx) {
      const { model } = ctx.analysis();
      const prototype = buildPrototype(maskedLayers(model), settings);
      setLayerWeights(model, prototype, prototype.layers.map((_, i) => layerWeights(prototype, i)));
      ctx.replaceModel(model);
    },
  };
}

/** The trained masks written as the packed model (the context's small model) and the materialized one (its full model). */
export function packStep(settings: PrototypeSettings & { keep: number }): PlanStep {
  return {
    name: 'pack',
    async run(ctx) {
      const prototype = buildPrototype(maskedLayers(ctx.model), settings);
      const { packed, materialized, info } = packModel(ctx.model, prototype, (ctx.session as PemnSession).masks(), settings.keep);
      const [full, small] = [encodeModel(materialized).model, encodeModel(packed).model];
      [ctx.full, ctx.small] = [full, small];
      const shapes = ctx.input.shapes;
      (ctx.results as StageResults).sizes = { before: accountPerSample(materialized, shapes), after: accountPerSample(packed, shapes) };
      ctx.replaceModel(packed);
      const figures: PackFigures = { ...info, denseBytes: full.byteLength, packedBytes: small.byteLength, bitsPerWeight: (8 * small.byteLength) / info.maskedWeights };
      ctx.state.pemn = figures as unknown as Json;
    },
  };
}

/** The steps that measure the dense baseline, before the prototype replaces the weights. */
export function denseBaselineSteps(baseline: DenseBaseline | undefined, stages: Stages): PlanStep[] {
  if (!baseline) return [];
  if ('file' in baseline) {
    const { file } = baseline;
    const measure: PlanStep = {
      name: 'dense baseline',
      async run(ctx) {
        const model = attributedTo(file, () => {
          const read = readModel(file);
          validateModel(read);
          return read;
        });
        keepDense(ctx, { source: 'file', file, ...(await accuracyOn(ctx, encodeModel(model).model, file)) });
      },
    };
    return [measure];
  }
  const plain = { plugin: plainTraining as MethodPlugin, settings: baseline.train.base };
  return [
    stages.train({ name: 'dense baseline', method: plain, config: { lr: baseline.train.lr } }),
    {
      name: 'dense baseline accuracy',
      async run(ctx) {
        const trained = ctx.model.clone().model;
        ctx.trainer!.exportTo(trained);
        await ctx.disposeTrainer();
        // The baseline's training is not the run's: the report's training figures are PEMN's.
        const training = ctx.state.training.pop()!;
        const measured = await accuracyOn(ctx, encodeModel(trained).model);
        keepDense(ctx, { source: 'trained', epochs: training.epochs, seconds: training.seconds, ...measured });
      },
    },
  ];
}

/** The accuracy of `model` on the run's evaluation samples, when they are labeled; a model that cannot take them is an error about `file`. */
async function accuracyOn(ctx: PipelineContext, model: Uint8Array, file?: string): Promise<{ accuracy?: number }> {
  const samples = ctx.input.evaluation?.samples;
  if (!samples?.labels) return {};
  try {
    return { accuracy: await accuracy(await createSession(model), samples) };
  } catch (e) {
    throw new OtocError(`cannot evaluate the dense baseline on the run's data: ${(e as Error).message.split('\n')[0]}`, file);
  }
}

function keepDense(ctx: PipelineContext, figures: DenseFigures): void {
  ctx.state.pemnDense = figures as unknown as Json;
}
