/**
 * The report stage: what a compression did, as `otoc compress --report` states it
 * (schemas/report.schema.json) less the file names, which the command adds.
 */
import { percent } from '../util/format.js';
import { NO_OVERRIDES, symbolicInputs, type SymbolicInput } from '../ir/input-shapes.js';
import type { Json } from '../plugins.js';
import type { PruningTarget } from '../methods/target.js';
import type { TrainingMode } from '../train/mode.js';
import type { PlanStep } from './plan.js';
import type { StageResults } from './stages.js';
import type { Verification } from './measure.js';

export interface ModelSize {
  parameters: number;
  macs: number;
  fileBytes: number;
}

export interface CompressionResult {
  full: ModelSize;
  small: ModelSize;
  /** Present when the plan removed zero groups (not for PEMN, which packs). */
  groupSparsity?: { target: number; reached: number; zeroGroups: number; groups: number; removedGroups: number; removedDead: number };
  /** Present when the plan pruned to a budget or a group sparsity (DHSPG, ADMM, AutoCompress; not PEMN). */
  budget?: BudgetSection;
  accuracy?: NonNullable<Verification['accuracy']>;
  /** The small model against the teacher, in a distilled run. */
  distillation?: NonNullable<Verification['distillation']>;
  latency: Verification['latency'];
  equivalence: Verification['equivalence'];
  training: {
    seconds: number;
    epochs: number;
    steps: number;
    optimizer: string;
    backend: string;
    imagesPerSecond: number;
    /** The step from which training ran on the small network, when it did. */
    smallNetworkFromStep?: number;
    /** Whether the model was fine-tuned or trained as an initialization (src/train/mode.ts), and the base learning rate. */
    mode?: TrainingMode;
    lr: number;
  };
  method: { name: string; settings: Json } & Record<string, Json>;
  warnings?: string[];
  /** Inputs whose shapes still hold symbolic dims after --shape: the MACs count those dims as 1. */
  symbolicInputs?: SymbolicInput[];
}

/** The model's size as it came, before any step pruned it (the analyze stage keeps it). */
export interface OriginalSize {
  parameters: number;
  macs: number;
  /** Prunable groups. */
  groups: number;
}

/**
 * What the run aimed at and reached: the share of the original parameters or MACs the small model
 * keeps (a budget), or the share of the original prunable groups removed (a group sparsity).
 */
export interface BudgetSection {
  kind: 'params' | 'macs' | 'groups';
  asked: number;
  reached: number;
  original: OriginalSize;
}

export const reportStage: PlanStep = {
  name: 'report',
  async run(ctx) {
    const { reduce, verify } = ctx.results as StageResults;
    const sizes = reduce ?? (ctx.results as StageResults).sizes;
    const { input } = ctx;
    if (!sizes || !verify) throw new Error('the report stage follows reduce (or another step that sets sizes) and verify');
    const trainings = ctx.state.training;
    const seconds = trainings.reduce((a, t) => a + t.seconds, 0);
    const samples = trainings.reduce((a, t) => a + t.samples, 0);
    const method = input.method;
    const symbolic = symbolicInputs(ctx.model, input.shapes ?? NO_OVERRIDES);
    const smallFrom = trainings.find((t) => t.smallNetworkFromStep !== undefined)?.smallNetworkFromStep;
    const warnings = verify.accuracy ? collapseWarnings(verify.accuracy, input.data.train.classes ?? 0) : [];
    const result: CompressionResult = {
      full: { parameters: sizes.before.parameters, macs: sizes.before.totalMacs, fileBytes: ctx.full!.byteLength },
      small: { parameters: sizes.after.parameters, macs: sizes.after.totalMacs, fileBytes: ctx.small!.byteLength },
      ...(reduce && {
        groupSparsity: {
          target: input.target?.targetSparsity ?? 0,
          reached: reduce.prunableGroups ? reduce.zeroGroups / reduce.prunableGroups : 0,
          zeroGroups: reduce.zeroGroups,
          groups: reduce.prunableGroups,
          removedGroups: reduce.removedGroups,
          removedDead: reduce.removedDead,
        },
        budget: budgetSection(input.target, ctx.state.original as unknown as OriginalSize, reduce),
      }),
      ...(verify.accuracy && { accuracy: verify.accuracy }),
      ...(verify.distillation && { distillation: verify.distillation }),
      latency: verify.latency,
      equivalence: verify.equivalence,
      training: {
        seconds,
        epochs: trainings.reduce((a, t) => a + t.epochs, 0),
        steps: trainings.reduce((a, t) => a + t.steps, 0),
        optimizer: `${method.plugin.name}-${input.base.kind}`,
        backend: input.backend,
        imagesPerSecond: seconds > 0 ? samples / seconds : 0,
        ...(smallFrom !== undefined && { smallNetworkFromStep: smallFrom }),
        ...(input.mode && { mode: input.mode }),
        lr: input.config.lr,
      },
      method: {
        name: method.plugin.name,
        settings: method.settings as Json,
        ...method.plugin.report?.(method.settings, ctx.session, ctx.state),
      },
      ...(warnings.length ? { warnings } : {}),
      ...(symbolic.length ? { symbolicInputs: symbolic } : {}),
    };
    ctx.results.report = result;
  },
};

function budgetSection(target: PruningTarget | undefined, original: OriginalSize, reduce: NonNullable<StageResults['reduce']>): BudgetSection {
  const share = (small: number, full: number) => (full > 0 ? small / full : 0);
  const budget = target?.budget;
  if (budget?.kind === 'params') return { kind: 'params', asked: budget.keep, reached: share(reduce.after.parameters, original.parameters), original };
  if (budget?.kind === 'macs') return { kind: 'macs', asked: budget.keep, reached: share(reduce.after.totalMacs, original.macs), original };
  const left = reduce.prunableGroups - reduce.removedGroups;
  return { kind: 'groups', asked: target?.targetSparsity ?? 0, reached: share(original.groups - left, original.groups), original };
}

/**
 * A small model near chance accuracy: the network collapsed, as fmnist_vgg did at 0.9 on one
 * seed when its last groups went, leaving one channel in a conv (README, full protocol).
 */
export function collapseWarnings(accuracy: NonNullable<Verification['accuracy']>, classes: number): string[] {
  const chance = 1 / classes;
  if (!(classes > 0) || accuracy.small > 1.5 * chance) return [];
  return [
    `the small model's ${accuracy.split} accuracy ${percent(accuracy.small)} is near chance (${percent(chance)} for ${classes} classes): ` +
      'training collapsed; try a later --deadline, a lower --target-sparsity or a smaller --lr',
  ];
}
