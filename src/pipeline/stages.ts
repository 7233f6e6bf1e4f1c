/**
 * The stages a plan is made of (plan.ts): analyze, train, export, reduce, verify. Each does one
 * thing to the context; a method builds its own plan from them (and steps of its own).
 */
import { join } from 'node:path';
import { accountPerSample } from '../../passes/accounting.js';
import { attributedTo } from '../errors.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import { checkObjectives } from '../objectives/objective.js';
import { encodeModel } from '../onnx/write.js';
import type { MethodUse } from '../methods/method.js';
import { observeAll, type EpochReport } from '../train/observer.js';
import { Trainer, type TrainConfig } from '../train/trainer.js';
import type { Accounting } from '../../passes/accounting.js';
import type { Tolerance } from '../runtime/compare-outputs.js';
import { verifyAndMeasure } from './measure.js';
import type { PlanStep, TrainingOutcome } from './plan.js';
import { pruneModel, type PruneOutcome } from './prune.js';
import { reportStage } from './report.js';

export interface TrainOptions {
  /** The step's name in progress output (default 'train'). */
  name?: string;
  /** Overrides of the run's training configuration (e.g. fewer epochs for a fine-tuning round). */
  config?: Partial<TrainConfig>;
  /** Another method than the run's (e.g. plain training after a method's own rounds). */
  method?: MethodUse;
}

export interface Stages {
  /** Folds constants, infers shapes and finds the ZIGs of the current model. */
  analyze: PlanStep;
  /** Trains the current model; the trainer waits in the context for `export`. */
  train(options?: TrainOptions): PlanStep;
  /** Writes the trained weights into the model and keeps it, serialized, as the trained full model. */
  export: PlanStep;
  /** Removes the zero groups: the current model becomes the small model. */
  reduce: PlanStep;
  /** Checks the small model against the trained full model in onnxruntime and measures both. */
  verify: PlanStep;
  /** `verify` at another tolerance than atol = rtol = 1e-4. */
  verifyWithin(tolerance: Tolerance): PlanStep;
  /** Assembles the report (report.ts). */
  report: PlanStep;
  /** analyze → train → export → reduce → verify → report. */
  readonly default: PlanStep[];
}

/** What the stages leave in `PipelineContext.results`. */
export interface StageResults {
  history?: EpochReport[];
  reduce?: Omit<PruneOutcome, 'full' | 'small'>;
  /** The full and the small model's accounting, from a step other than `reduce` that made the small model (PEMN's packing). */
  sizes?: { before: Accounting; after: Accounting };
  verify?: Awaited<ReturnType<typeof verifyAndMeasure>>;
}

/**
 * Analyzes the model and checks that it takes the run's objectives on its data, before any
 * training; keeps the model's size as it came (`original`), which budgets are shares of.
 */
const analyze: PlanStep = {
  name: 'analyze',
  async run(ctx) {
    const { modelFile, objectives, data, shapes } = ctx.input;
    const check = () => {
      const { model, facts, groups } = ctx.analysis();
      checkObjectives(objectives, { model, facts, data: data.train });
      const counts = accountPerSample(model, shapes);
      ctx.state.original ??= { parameters: counts.parameters, macs: counts.totalMacs, groups: groups.zigs.filter((z) => z.prunable).length };
    };
    if (modelFile === undefined) check();
    else attributedTo(modelFile, check);
  },
};

function train(options: TrainOptions = {}): PlanStep {
  return {
    name: options.name ?? 'train',
    async run(ctx) {
      const { input, control } = ctx;
      const config = { ...input.config, ...options.config };
      const trainer = new Trainer(ctx.analysis(), input.data, config, { method: options.method ?? input.method, objectives: input.objectives });
      ctx.trainer = trainer;
      const resumed = ctx.resumeTrainer;
      if (resumed) attributedTo(join(control.checkpoint!.dir, CHECKPOINT_FILE), () => trainer.restore(resumed));
      ctx.resumeTrainer = undefined;
      let smallNetworkFromStep: number | undefined;
      const finished = await trainer.fit(
        observeAll([
          control.observer?.training ?? {},
          { onShrink: (r) => (smallNetworkFromStep = r.step) },
          control.checkpoint?.everyEpoch ? { onEpoch: () => ctx.saveCheckpoint(trainer.state()) } : {},
        ]),
        control.signal,
      );
      if (!finished) {
        ctx.saveCheckpoint(trainer.state());
        return false;
      }
      ctx.state.training.push(outcome(trainer, input.data.train.count, smallNetworkFromStep));
    },
  };
}

function outcome(trainer: Trainer, samples: number, smallNetworkFromStep: number | undefined): TrainingOutcome {
  const epochs = trainer.epochs;
  const seconds = epochs.reduce((a, e) => a + e.seconds, 0);
  return {
    seconds,
    epochs: epochs.length,
    steps: epochs.at(-1)?.step ?? 0,
    samples: samples * epochs.length,
    ...(smallNetworkFromStep !== undefined && { smallNetworkFromStep }),
  };
}

const exportStage: PlanStep = {
  name: 'export',
  async run(ctx) {
    const trainer = ctx.trainer!;
    trainer.exportTo(ctx.model);
    ctx.full = encodeModel(ctx.model).model;
    ctx.session = trainer.method;
    (ctx.results as StageResults).history = [...trainer.epochs];
    await ctx.disposeTrainer();
  },
};

const reduce: PlanStep = {
  name: 'reduce',
  async run(ctx) {
    const { full, small, ...counts } = pruneModel(ctx.analysis(), { shapes: ctx.input.shapes });
    ctx.full = full;
    ctx.small = encodeModel(small).model;
    ctx.replaceModel(small);
    (ctx.results as StageResults).reduce = counts;
  },
};

function verifyWithin(tolerance?: Tolerance): PlanStep {
  return {
    name: 'verify',
    async run(ctx) {
      const { evaluation, latencyRuns, shapes, teacher } = ctx.input;
      if (!evaluation) throw new Error('the verify stage needs evaluation samples');
      (ctx.results as StageResults).verify = await verifyAndMeasure(ctx.full!, ctx.small!, ctx.model, evaluation, { latencyRuns, shapes, tolerance, teacher });
    },
  };
}

const verify = verifyWithin();

export function stages(): Stages {
  return {
    analyze,
    train,
    export: exportStage,
    reduce,
    verify,
    verifyWithin,
    report: reportStage,
    get default() {
      return [analyze, train(), exportStage, reduce, verify, reportStage];
    },
  };
}
