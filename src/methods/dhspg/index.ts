/**
 * DHSPG as a method: the optimizer over the model's ZIG group vectors, its statistics after
 * every step (in the progress and the log), its command-line options and its report section.
 */
import { OtocError } from '../../errors.js';
import { groupVectors } from '../../train/group-vectors.js';
import type { Json } from '../../plugins.js';
import { MODE_DEFAULTS } from '../../train/mode.js';
import type { BaseOptions } from '../../train/optimizer.js';
import type { MethodPlugin, MethodSession } from '../method.js';
import { BudgetMeter } from '../budget.js';
import type { Budget, PruningTarget } from '../target.js';
import { Dhspg, dhspgDefaults, type DhspgOptions } from './optimizer.js';

/** When pruning starts: a number of epochs, or of optimizer steps. */
export type StartPruning = { epochs: number } | { steps: number };

export interface DhspgSchedule {
  startPruning: StartPruning;
  /** Overrides of the step at which G_p is chosen and the first half-space projection happens. */
  partitionStep?: number;
  halfSpaceStep?: number;
  /** Fraction of training by which the target should be reached (adaptive λ); undefined keeps λ fixed. */
  deadline?: number;
}

export type DhspgSettings = Omit<DhspgOptions, 'partitionStep' | 'halfSpaceStep' | 'deadlineStep' | 'meetsBudget'> &
  DhspgSchedule & {
    /** A budget of parameters or MACs: the partition picks groups until the measured budget is met. */
    budget?: Budget;
  };

/**
 * The default deadline for a target group sparsity: 0.65 up to 0.7, then earlier, linearly to
 * 0.25 at 0.9 and beyond. A moderate target prefers a late deadline, so the groups shrink gently;
 * a high one an early deadline, so the small network has epochs left to recover
 * (docs/dhspg-experiments.md).
 */
export function defaultDeadline(targetSparsity: number): number {
  return Math.max(0.25, Math.min(0.65, 0.65 - 2 * (targetSparsity - 0.7)));
}

/** The DHSPG settings for `target` with the original's defaults for `base` and otoc's schedule. */
export function dhspgSettings(base: BaseOptions, target: PruningTarget, seed: number, schedule: Partial<DhspgSchedule> = {}): DhspgSettings {
  return {
    base,
    ...target,
    ...dhspgDefaults(base.kind),
    seed,
    startPruning: { epochs: 1 },
    deadline: defaultDeadline(target.targetSparsity),
    ...schedule,
  };
}

function session(settings: DhspgSettings, setup: Parameters<MethodPlugin<DhspgSettings>['session']>[1]): MethodSession {
  const start = 'epochs' in settings.startPruning ? Math.round(settings.startPruning.epochs * setup.stepsPerEpoch) : settings.startPruning.steps;
  const halfSpaceStep = settings.halfSpaceStep ?? start;
  const { startPruning: _start, deadline, partitionStep, halfSpaceStep: _half, budget, ...options } = settings;
  const meter = budget && new BudgetMeter(setup.groups, { kind: budget.kind, keep: budget.keep }, { shapes: budget.shapes });
  const optimizer = new Dhspg(setup.params, groupVectors(setup.groups, setup.params), {
    ...options,
    ...(meter && { meetsBudget: (zigs: readonly number[]) => meter.meets(zigs) }),
    partitionStep: partitionStep ?? start,
    halfSpaceStep,
    deadlineStep: deadline === undefined ? undefined : Math.max(halfSpaceStep + 1, Math.round(deadline * setup.totalSteps)),
  });
  const stats = () => {
    const s = optimizer.stats();
    return { groupSparsity: s.sparsity, zeroGroups: s.zeroGroups, lambda: s.lambda };
  };
  return { optimizer, afterStep: stats, afterEpoch: stats };
}

interface DhspgArgs {
  tolerance?: number;
  lambda?: number;
  lambdaAmplify?: number;
  hatLambdaCoeff?: number;
  epsilon?: number;
  startPruning?: string;
  partitionStep?: number;
  halfSpaceStep?: number;
  deadline?: number;
  fixedLambda?: boolean;
}

export const dhspg: MethodPlugin<DhspgSettings> = {
  name: 'dhspg',
  module: import.meta.url,
  exportName: 'dhspg',
  summary:
    'DHSPG (OTOv2): trains once, driving the chosen zero-invariant groups to exactly zero with a group-lasso pull and\n' +
    'half-space projections, then prunes them with no fine-tuning.',
  cli: {
    options: {
      tolerance: { type: 'number', describe: 'Group sparsity never exceeds min(target + tolerance, 0.999); groups beyond the target are penalized only where --group-divisible rounding needs them (default 0.05)' },
      lambda: { type: 'number', describe: 'Base strength λ of the group-lasso pull (default: 1e-3 for sgd, 1e-2 for adam/adamw)' },
      'lambda-amplify': { type: 'number', describe: 'λ amplification when the gradient pushes a group away from zero (default 2 / 20)' },
      'hat-lambda-coeff': { type: 'number', describe: 'Upper clip of λ_g as a multiple of λ (default 10 / 1000)' },
      epsilon: { type: 'number', describe: 'Half-space projection threshold ε (default 0)' },
      'start-pruning': {
        type: 'string',
        describe: `When pruning starts (partition and first half-space projection): epochs, or steps with a "steps" suffix, e.g. 200steps (default ${MODE_DEFAULTS.scratch.startPruningEpochs}; ${MODE_DEFAULTS.finetune.startPruningEpochs} with --mode finetune)`,
      },
      'partition-step': { type: 'number', describe: 'Override: the step at which the groups to zero are chosen' },
      'half-space-step': { type: 'number', describe: 'Override: the step of the first half-space projection' },
      deadline: {
        type: 'number',
        describe: 'Fraction of training by which the target must be reached: λ rises when sparsity lags (see --fixed-lambda). Default: 0.65 up to target 0.7, then earlier, 0.25 from 0.9 on',
      },
      'fixed-lambda': { type: 'boolean', describe: 'Keep λ fixed, as the original DHSPG (it may not reach the target in a short run)' },
    },
    settings(raw, { base, seed, target, mode = 'scratch' }) {
      const args = raw as DhspgArgs;
      const fraction = (flag: string, v: number, max: number) => {
        if (!(v >= 0 && v <= max)) throw new OtocError(`${flag} must be between 0 and ${max}, got ${v}`);
      };
      const tolerance = args.tolerance ?? 0.05;
      fraction('--tolerance', tolerance, 1);
      const deadline = args.deadline ?? defaultDeadline(target.targetSparsity);
      fraction('--deadline', deadline, 1);
      const defaults = dhspgDefaults(base.kind);
      return {
        base,
        ...target,
        tolerance,
        lambda: args.lambda ?? defaults.lambda,
        amplify: args.lambdaAmplify ?? defaults.amplify,
        hatCoeff: args.hatLambdaCoeff ?? defaults.hatCoeff,
        epsilon: args.epsilon ?? 0,
        seed,
        startPruning: args.startPruning === undefined ? { epochs: MODE_DEFAULTS[mode].startPruningEpochs } : parseStartPruning(args.startPruning),
        ...(args.partitionStep !== undefined ? { partitionStep: args.partitionStep } : {}),
        ...(args.halfSpaceStep !== undefined ? { halfSpaceStep: args.halfSpaceStep } : {}),
        ...(args.fixedLambda ? {} : { deadline }),
      };
    },
  },
  session,
  report(_settings, s): Record<string, Json> {
    const stats = (s?.optimizer as Dhspg | undefined)?.stats();
    return stats ? { groupSparsity: stats.sparsity, zeroGroups: stats.zeroGroups, penalizedGroups: stats.penalized, finalLambda: stats.lambda } : {};
  },
};

function parseStartPruning(text: string): StartPruning {
  const m = /^(\d+(?:\.\d+)?)\s*(steps?|epochs?)?$/.exec(String(text).trim());
  if (!m) throw new OtocError(`--start-pruning must be a number of epochs (e.g. 1) or of steps (e.g. 200steps), got '${text}'`);
  const n = Number(m[1]);
  return m[2]?.startsWith('step') ? { steps: Math.round(n) } : { epochs: n };
}
