/**
 * The plan of `--method admm` and `--method autocompress`, from the pipeline's stages:
 *
 *   analyze → warm-up → round 1 … round R → retrain → export → reduce → verify → report
 *   round r: rates (uniform, from a file, or searched) → ADMM training → export → prune
 *
 * Round r of R aims at keeping F^(r/R) of the original model (F: the budget's share of its
 * parameters or MACs, or 1 − the target group sparsity), measured on the pruned model. Its prune
 * hard-prunes to Z's support; every round but the last then removes the zero and dead channels
 * (checked in onnxruntime) and goes on with the smaller model. The last round's hard-pruned model
 * is retrained with its mask fixed, then physically pruned and verified as `compress` does.
 *
 * The steps of the run (--epochs × steps per epoch) are split: `warmUp` of them train the dense
 * model first (plain SGD), `retrain` of them retrain the last round's model, and the rest go to
 * the rounds' ADMM in equal parts, each round's in `iterations` equal ADMM iterations. A part of
 * zero steps is skipped (a round without steps hard-prunes at its rates one-shot).
 *
 * What the steps find (rates, the search's state level by level, residuals, times) is kept in
 * the context's state, so checkpoints resume exactly, inside a round as between rounds.
 */
import type { Samples } from '../../data/samples.js';
import { sliceSamples, spreadSamples } from '../../data/samples.js';
import { OtocError } from '../../errors.js';
import { encodeModel } from '../../onnx/write.js';
import { checkSmallModel } from '../../pipeline/measure.js';
import type { PipelineContext, PlanStep } from '../../pipeline/plan.js';
import type { OriginalSize } from '../../pipeline/report.js';
import type { Stages } from '../../pipeline/stages.js';
import { pruneModel } from '../../pipeline/prune.js';
import type { Json } from '../../plugins.js';
import type { BaseOptions } from '../../train/optimizer.js';
import { groupNorms, zeroGroupVectors } from '../../../passes/select-groups.js';
import { BudgetMeter, goalOf } from '../budget.js';
import { maskedTraining } from '../masked.js';
import type { MethodPlugin } from '../method.js';
import { plainTraining } from '../plain.js';
import type { PruningTarget } from '../target.js';
import type { CandidateRuntime } from './candidate-runtime.js';
import { rateSets, ratesFor, ratesOf, removedCounts, scaleToBudget, selection, type RateSets, type RatesFile } from './rates.js';
import { admmRound, type AdmmRoundSession, type AdmmRoundSettings } from './round.js';
import { levelCount, searchLevel, startSearch, type AnnealingSettings, type SearchState } from './search.js';

export interface RoundsSettings {
  base: BaseOptions;
  seed: number;
  target: PruningTarget;
  rounds: number;
  /** ADMM iterations per round. */
  iterations: number;
  rho: number;
  rhoGrowth: number;
  /** Shares of the run's steps: dense training first, and retraining of the last round's model. */
  warmUp: number;
  retrain: number;
  /** How each round's rates are chosen. */
  rates: UniformRates | FileRates | SearchedRates;
}

export interface UniformRates {
  kind: 'uniform';
}

/** How the sets' rates compare, from a file; each round scales them onto its goal, as uniform rates. */
export interface FileRates extends RatesFile {
  kind: 'file';
  file: string;
}

export interface SearchedRates {
  kind: 'search';
  /** Validation images each candidate is scored on. */
  samples: number;
  /** Training images that re-estimate each candidate's running statistics first (0: none). */
  statistics: number;
  runtime: CandidateRuntime;
  annealing: AnnealingSettings;
}

/** One group set's rate in a round: its groups (channels) before the round and the share removed. */
export interface SetRate {
  set: number;
  stems: string[];
  channels: number;
  rate: number;
}

export interface RoundRecord {
  /** The share of the original model the round keeps at most (of the goal's count). */
  goal: number;
  rates: SetRate[];
  /** Groups each set keeps, by set index (null: not constrained): the ADMM round's settings. */
  keep: (number | null)[];
  search?: SearchState & { seconds: number; evaluations: number };
  residuals?: number[];
  /** The ZIGs the hard prune zeroes. */
  outsideSupport?: number[];
  removed?: { zero: number; dead: number };
  /** The model after the round's prune (the last round's: after the final reduce, in the report). */
  size?: { parameters: number; macs: number };
  seconds: { rates: number; admm: number; prune: number };
}

/** What the plan keeps in PipelineContext.state (beside the trainings and the original size). */
export interface RoundsState {
  rounds: RoundRecord[];
  seconds: { warmUp: number; retrain: number };
}

/** How the run's steps are shared (see the header). */
export function stepSplit(total: number, s: Pick<RoundsSettings, 'warmUp' | 'retrain' | 'rounds'>): { warmUp: number; rounds: number[]; retrain: number } {
  const warmUp = Math.round(s.warmUp * total);
  const retrain = Math.min(total - warmUp, Math.round(s.retrain * total));
  const admm = total - warmUp - retrain;
  const rounds = Array.from({ length: s.rounds }, (_, r) => Math.floor((admm * (r + 1)) / s.rounds) - Math.floor((admm * r) / s.rounds));
  return { warmUp, rounds, retrain };
}

export function roundsPlan(settings: RoundsSettings, stages: Stages): PlanStep[] {
  const plain = { plugin: plainTraining as MethodPlugin, settings: settings.base };
  const masked = { plugin: maskedTraining as MethodPlugin, settings: settings.base };
  return [
    start(settings, stages),
    trainFor(stages, settings, 'warm-up', (s) => s.warmUp, plain, (ctx, seconds) => (roundsState(ctx).seconds.warmUp = seconds)),
    ...Array.from({ length: settings.rounds }, (_, r) => [chooseRates(settings, r), admmTraining(settings, stages, r), prune(settings, r)]).flat(),
    trainFor(stages, settings, 'retrain', (s) => s.retrain, masked, (ctx, seconds) => (roundsState(ctx).seconds.retrain = seconds)),
    stages.reduce,
    sizeOfLastRound(),
    stages.verify,
    stages.report,
  ];
}

function roundsState(ctx: PipelineContext): RoundsState {
  return ctx.state.admm as unknown as RoundsState;
}

function say(ctx: PipelineContext, line: string): void {
  ctx.control.observer?.onMessage?.(line);
}

/** The default analyze stage, then the plan's own state and its checks. */
function start(settings: RoundsSettings, stages: Stages): PlanStep {
  return {
    name: 'analyze',
    async run(ctx) {
      await stages.analyze.run(ctx);
      if (settings.rates.kind === 'search' && !searchSamples(ctx, settings.rates.samples)) {
        throw new OtocError('the rate search scores candidates on validation images: give --val-split > 0');
      }
      ctx.state.admm ??= { rounds: [], seconds: { warmUp: 0, retrain: 0 } } satisfies RoundsState as unknown as Json;
    },
  };
}

function searchSamples(ctx: PipelineContext, count: number): Samples | undefined {
  const val = ctx.input.data.val;
  return val && sliceSamples(val, 0, Math.min(count, val.count));
}

function stepsPerEpoch(ctx: PipelineContext): number {
  return Math.ceil(ctx.input.data.train.count / ctx.input.config.batchSize);
}

function splitOf(ctx: PipelineContext, settings: Pick<RoundsSettings, 'warmUp' | 'retrain' | 'rounds'>) {
  return stepSplit(ctx.input.config.epochs * stepsPerEpoch(ctx), settings);
}

/**
 * A training of the steps `part` gives it (none: skipped), then the export of its weights into
 * the model, which the next steps (and checkpoints) take as changed. `done` sees the finished
 * training (its trainer and its seconds) before the export.
 */
function trainFor(
  stages: Stages,
  settings: RoundsSettings,
  name: string,
  part: (split: ReturnType<typeof stepSplit>) => number,
  method: { plugin: MethodPlugin; settings: unknown },
  done: (ctx: PipelineContext, seconds: number) => void,
): PlanStep {
  return {
    name,
    async run(ctx) {
      const steps = part(splitOf(ctx, settings));
      if (steps === 0) return;
      const config = { steps, epochs: Math.ceil(steps / stepsPerEpoch(ctx)) };
      if ((await stages.train({ name, config, method }).run(ctx)) === false) return false;
      done(ctx, ctx.state.training.at(-1)!.seconds);
      await stages.export.run(ctx);
      ctx.replaceModel(ctx.model);
    },
  };
}

/** The share of the original model round `r` keeps: F^((r+1)/R). */
function roundGoal(settings: RoundsSettings, r: number): number {
  return goalOf(settings.target).keep ** ((r + 1) / settings.rounds);
}

function meterOf(ctx: PipelineContext, settings: RoundsSettings, goal: number): BudgetMeter {
  const original = ctx.state.original as unknown as OriginalSize;
  return new BudgetMeter(ctx.analysis().groups, { kind: goalOf(settings.target).kind, keep: goal }, { reference: original, shapes: settings.target.budget?.shapes });
}

/** Round r's rates: uniform or from the file, scaled onto the round's goal, or searched. */
function chooseRates(settings: RoundsSettings, r: number): PlanStep {
  return {
    name: `rates ${r + 1}`,
    async run(ctx) {
      const started = performance.now();
      const state = roundsState(ctx);
      const { groups } = ctx.analysis();
      const sets = rateSets(groups, settings.target);
      const goal = roundGoal(settings, r);
      const meter = meterOf(ctx, settings, goal);
      const norms = groupNorms(groups);
      const what = `${goal.toPrecision(3)} of the original ${meter.goal.kind === 'groups' ? 'prunable groups' : meter.goal.kind === 'params' ? 'parameters' : 'MACs'}`;
      let counts: number[] | undefined;
      let search: RoundRecord['search'];
      const rates = settings.rates;
      if (rates.kind === 'search') {
        say(ctx, `round ${r + 1}/${settings.rounds}: searching per-set rates that keep ${what}`);
        const found = await searchRates(ctx, settings, rates, r, sets, meter, norms);
        if (found === false) return false;
        search = found;
        counts = removedCounts(sets, found.best.rates);
      } else {
        say(ctx, `round ${r + 1}/${settings.rounds}: ${rates.kind === 'file' ? `the rates of ${rates.file}` : 'uniform rates'} scaled to keep ${what}`);
        const base = rates.kind === 'file' ? ratesFor(groups, sets, rates, rates.file) : sets.sizes.map(() => 1);
        counts = scaleToBudget(groups, sets, base, meter, norms);
      }
      if (!counts) throw unreachable(settings, what);
      const keep: (number | null)[] = groups.groupSets.map(() => null);
      sets.sets.forEach((set, i) => counts![i] > 0 && (keep[set] = sets.sizes[i] - counts![i]));
      const chosen = ratesOf(sets, counts);
      state.rounds[r] = {
        goal,
        rates: sets.sets.map((set, i) => ({ set, stems: sets.stems[i], channels: sets.sizes[i], rate: chosen[i] })),
        keep,
        ...(search && { search }),
        seconds: { rates: (performance.now() - started) / 1000, admm: 0, prune: 0 },
      };
    },
  };
}

function unreachable(settings: RoundsSettings, what: string): OtocError {
  const floor = settings.target.channelFloor > 0 ? ` (--channel-floor ${settings.target.channelFloor})` : '';
  return new OtocError(`the rates cannot be scaled to keep ${what}: a group set would lose more channels than it may${floor}`);
}

/** The search, level by level from the state a checkpoint kept; false when interrupted. */
async function searchRates(
  ctx: PipelineContext,
  settings: RoundsSettings,
  rates: SearchedRates,
  r: number,
  sets: RateSets,
  meter: BudgetMeter,
  norms: Map<number, number>,
): Promise<NonNullable<RoundRecord['search']> | false> {
  const { groups } = ctx.analysis();
  // Loaded when a search runs: scoring candidates loads tfjs or onnxruntime, which --help need not.
  const { candidateEvaluator } = await import('./evaluate.js');
  const statistics = rates.statistics > 0 ? { samples: spreadSamples(ctx.input.data.train, rates.statistics), batchSize: ctx.input.config.batchSize } : undefined;
  const evaluator = candidateEvaluator(rates.runtime, groups, searchSamples(ctx, rates.samples)!, statistics);
  const state = roundsState(ctx);
  const kept = state.rounds[r]?.search;
  let evaluations = kept?.evaluations ?? 0;
  let seconds = kept?.seconds ?? 0;
  const problem = {
    sizes: sets.parameters,
    rescale: (candidate: readonly number[]) => {
      const counts = scaleToBudget(groups, sets, candidate, meter, norms);
      return counts && ratesOf(sets, counts);
    },
    evaluate: async (candidate: readonly number[]) => {
      evaluations++;
      return evaluator.accuracy(selection(groups, sets, removedCounts(sets, candidate)!, norms));
    },
  };
  const keepState = (search: SearchState) => {
    state.rounds[r] = { goal: roundGoal(settings, r), rates: [], keep: [], search: { ...search, seconds, evaluations }, seconds: { rates: seconds, admm: 0, prune: 0 } };
  };
  try {
    const seed = (settings.seed * 7919 + r) * 1009;
    let search: SearchState | undefined = kept;
    let clock = performance.now();
    if (!search) {
      search = await startSearch(problem, rates.annealing, seed);
      if (!search) throw unreachable(settings, `${meter.goal.keep.toPrecision(3)} of the original ${meter.goal.kind}`);
    }
    const levels = levelCount(rates.annealing);
    while (search.level < levels) {
      if (ctx.control.signal?.aborted) {
        keepState(search);
        ctx.saveCheckpoint();
        return false;
      }
      search = await searchLevel(problem, rates.annealing, search, seed + search.level + 1);
      const level = search.trace.at(-1)!;
      seconds += (performance.now() - clock) / 1000;
      clock = performance.now();
      keepState(search);
      say(
        ctx,
        `  T ${level.temperature.toFixed(1)}: best ${(100 * level.best).toFixed(1)}%, ` +
          `${level.scores.length} candidate${level.scores.length === 1 ? '' : 's'} (${level.scores.map((s) => (100 * s).toFixed(1)).join(', ')}), ` +
          `${level.accepted ? 'moved' : 'stayed'}`,
      );
    }
    return { ...search, seconds, evaluations };
  } finally {
    evaluator.dispose();
  }
}

/** Round r's ADMM training, built when it runs from the rates the round chose. */
function admmTraining(settings: RoundsSettings, stages: Stages, r: number): PlanStep {
  const name = `admm ${r + 1}`;
  return {
    name,
    async run(ctx) {
      const record = roundsState(ctx).rounds[r];
      const roundSettings: AdmmRoundSettings = {
        base: settings.base,
        keep: record.keep,
        rho: settings.rho,
        rhoGrowth: settings.rhoGrowth,
        iterations: settings.iterations,
      };
      const steps = splitOf(ctx, settings).rounds[r];
      if (steps === 0) {
        const sets = rateSets(ctx.analysis().groups, settings.target);
        record.outsideSupport = selection(ctx.analysis().groups, sets, removedCounts(sets, record.rates.map((x) => x.rate))!);
        return;
      }
      say(ctx, `round ${r + 1}/${settings.rounds}: ADMM, ${steps} steps in ${Math.min(settings.iterations, steps)} iterations`);
      const method = { plugin: admmRound as MethodPlugin, settings: roundSettings };
      const step = trainFor(stages, settings, name, (split) => split.rounds[r], method, (c, seconds) => {
        const session = c.trainer!.method as AdmmRoundSession;
        record.residuals = session.residuals();
        record.outsideSupport = session.outsideSupport();
        record.seconds.admm = seconds;
      });
      return step.run(ctx);
    },
  };
}

/** Round r's prune: zero the groups outside Z's support; every round but the last then removes the zero and dead channels. */
function prune(settings: RoundsSettings, r: number): PlanStep {
  return {
    name: `prune ${r + 1}`,
    async run(ctx) {
      const started = performance.now();
      const record = roundsState(ctx).rounds[r];
      const analyzed = ctx.analysis();
      zeroGroupVectors(analyzed.groups, record.outsideSupport!);
      if (r === settings.rounds - 1) {
        // The last round's model is retrained with its mask fixed before it is pruned.
        ctx.replaceModel(ctx.model);
        record.seconds.prune = (performance.now() - started) / 1000;
        return;
      }
      const outcome = pruneModel(analyzed, { shapes: ctx.input.shapes });
      const small = encodeModel(outcome.small).model;
      const samples = ctx.input.data.val ?? ctx.input.data.train;
      const check = await checkSmallModel(outcome.full, small, outcome.small, samples, { shapes: ctx.input.shapes });
      await Promise.all([check.fullSession.release(), check.smallSession.release()]);
      if (!check.equivalence.equivalent) {
        throw new Error(`internal: round ${r + 1}'s pruned model is not equivalent to its hard-pruned one (${check.equivalence.reason})`);
      }
      ctx.replaceModel(outcome.small);
      record.removed = { zero: outcome.removedGroups - outcome.removedDead, dead: outcome.removedDead };
      record.size = { parameters: outcome.after.parameters, macs: outcome.after.totalMacs };
      record.seconds.prune = (performance.now() - started) / 1000;
      say(ctx, `round ${r + 1}/${settings.rounds}: pruned ${outcome.removedGroups} groups (${outcome.removedDead} dead), ${outcome.after.parameters} parameters, ${outcome.after.totalMacs} MACs`);
    },
  };
}

/** The last round's removals and size, from the final reduce. */
function sizeOfLastRound(): PlanStep {
  return {
    name: 'round sizes',
    async run(ctx) {
      const reduce = (ctx.results as { reduce?: { removedGroups: number; removedDead: number; after: { parameters: number; totalMacs: number } } }).reduce!;
      const record = roundsState(ctx).rounds.at(-1)!;
      record.removed = { zero: reduce.removedGroups - reduce.removedDead, dead: reduce.removedDead };
      record.size = { parameters: reduce.after.parameters, macs: reduce.after.totalMacs };
    },
  };
}
