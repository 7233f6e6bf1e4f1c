/**
 * `--method admm` and `--method autocompress`: rounds of per-set pruning rates enforced by ADMM
 * over the ZIG group sets (plan.ts), with the rates uniform or from a file (admm) or found by a
 * simulated-annealing search on validation images (autocompress, Liu et al. 2020).
 */
import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { OtocError } from '../../errors.js';
import type { Json } from '../../plugins.js';
import { BaseOptimizer } from '../../train/base-optimizers.js';
import type { CommonSettings, MethodCli, MethodPlugin } from '../method.js';
import { CANDIDATE_RUNTIMES, type CandidateRuntime } from './candidate-runtime.js';
import { roundsPlan, type RoundsSettings, type RoundsState, type SetRate } from './plan.js';
import { parseRatesFile } from './rates.js';
import { ANNEALING_DEFAULTS } from './search.js';

/**
 * ρ's schedule: ρ of the first ADMM iteration of a round, times RHO_GROWTH per iteration. Chosen
 * on validation images (bench/autocompress-fmnist.ts, the ρ runs; README, "ρ"): fmnist_vgg at
 * parameters kept 0.1, seed 0, 87.60% with 1e-2 × 2 against 87.38% with 1e-3 × 2.
 */
export const DEFAULT_RHO = 1e-2;
export const DEFAULT_RHO_GROWTH = 2;

export const ROUNDS_DEFAULTS = { rounds: 3, iterations: 4, rho: DEFAULT_RHO, rhoGrowth: DEFAULT_RHO_GROWTH, warmUp: 0.2, retrain: 0.3 };
/**
 * The search's scoring: validation images per candidate, and training images that re-estimate a
 * candidate's BatchNorm statistics before it is scored (without it, a one-shot-pruned network
 * keeps the statistics of the full one and scores near chance: README, "AutoCompress").
 */
export const SEARCH_DEFAULTS = { samples: 1000, statistics: 1000, runtime: 'onnxruntime' as CandidateRuntime };

const ROUND_OPTIONS: Record<string, Options> = {
  rounds: { type: 'number', describe: `Rounds, each pruning to keep F^(r/R) of the model, F the target's share (default ${ROUNDS_DEFAULTS.rounds})` },
  'admm-iterations': { type: 'number', describe: `ADMM iterations per round, evenly spaced over its steps (default ${ROUNDS_DEFAULTS.iterations})` },
  rho: { type: 'number', describe: `ρ of the proximal term ρ/2‖W − Z + U‖² in a round's first ADMM iteration (default ${DEFAULT_RHO})` },
  'rho-growth': { type: 'number', describe: `ρ is multiplied by this after every ADMM iteration of a round (default ${DEFAULT_RHO_GROWTH})` },
  'warm-up': {
    type: 'number',
    describe: `Share of the run's steps that train the dense model before the first round; 0 for a trained model (default ${ROUNDS_DEFAULTS.warmUp})`,
  },
  retrain: {
    type: 'number',
    describe: `Share of the run's steps that retrain the last round's model with its pruned groups held at zero (default ${ROUNDS_DEFAULTS.retrain}); the rest goes to the rounds' ADMM in equal parts`,
  },
};

interface RoundArgs {
  rounds?: number;
  admmIterations?: number;
  rho?: number;
  rhoGrowth?: number;
  warmUp?: number;
  retrain?: number;
  rates?: string;
  searchSamples?: number;
  searchStatistics?: number;
  searchEvaluations?: number;
  searchRuntime?: CandidateRuntime;
  experience?: boolean;
}

/** The settings both methods share, from the flags; an OtocError names a bad one. */
function roundsSettings(args: RoundArgs, { base, seed, target }: CommonSettings, rates: RoundsSettings['rates']): RoundsSettings {
  const s = {
    base,
    seed,
    target,
    rounds: args.rounds ?? ROUNDS_DEFAULTS.rounds,
    iterations: args.admmIterations ?? ROUNDS_DEFAULTS.iterations,
    rho: args.rho ?? ROUNDS_DEFAULTS.rho,
    rhoGrowth: args.rhoGrowth ?? ROUNDS_DEFAULTS.rhoGrowth,
    warmUp: args.warmUp ?? ROUNDS_DEFAULTS.warmUp,
    retrain: args.retrain ?? ROUNDS_DEFAULTS.retrain,
    rates,
  };
  const positiveInteger = (flag: string, v: number) => {
    if (!(Number.isInteger(v) && v >= 1)) throw new OtocError(`${flag} must be a positive whole number, got ${v}`);
  };
  positiveInteger('--rounds', s.rounds);
  positiveInteger('--admm-iterations', s.iterations);
  if (!(s.rho > 0 && Number.isFinite(s.rho))) throw new OtocError(`--rho must be a positive number, got ${s.rho}`);
  if (!(s.rhoGrowth > 0 && Number.isFinite(s.rhoGrowth))) throw new OtocError(`--rho-growth must be a positive number, got ${s.rhoGrowth}`);
  for (const [flag, v] of [['--warm-up', s.warmUp], ['--retrain', s.retrain]] as const) {
    if (!(v >= 0 && v < 1)) throw new OtocError(`${flag} must be a share of the steps in [0, 1), got ${v}`);
  }
  if (s.warmUp + s.retrain >= 1) throw new OtocError(`--warm-up and --retrain leave no steps to the rounds (${s.warmUp} + ${s.retrain} ≥ 1)`);
  return s;
}

function readRatesFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new OtocError(code === 'ENOENT' ? 'file not found' : `cannot read the rates file (${code ?? String(e)})`, file);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new OtocError(`not JSON (${(e as Error).message})`, file);
  }
}

const session: MethodPlugin<RoundsSettings>['session'] = (settings, setup) => ({ optimizer: new BaseOptimizer(setup.params, settings.base) });

/** The report section: the rates chosen (per set, over all rounds), each round's search, residuals and times, and the totals. */
function report(_settings: RoundsSettings, _session: unknown, state: Readonly<Record<string, unknown>>): Record<string, Json> {
  const s = state.admm as RoundsState | undefined;
  if (!s) return {};
  const key = (stems: readonly string[]) => stems.join(', ');
  const rates: SetRate[] = (s.rounds[0]?.rates ?? []).map((first) => {
    const kept = s.rounds.reduce((k, round) => k * (1 - (round.rates.find((x) => key(x.stems) === key(first.stems))?.rate ?? 0)), 1);
    return { set: first.set, stems: first.stems, channels: first.channels, rate: 1 - kept };
  });
  const sum = (f: (r: RoundsState['rounds'][number]) => number) => s.rounds.reduce((a, r) => a + f(r), 0);
  const rounds = s.rounds.map(({ keep: _keep, outsideSupport: _outside, search, ...round }) => ({
    ...round,
    ...(search && {
      search: {
        levels: search.trace,
        best: search.best.score,
        evaluations: search.evaluations,
        seconds: search.seconds,
        secondsPerCandidate: search.evaluations ? search.seconds / search.evaluations : 0,
      },
    }),
  }));
  return {
    rates: rates as unknown as Json,
    rounds: rounds as unknown as Json,
    seconds: { warmUp: s.seconds.warmUp, rates: sum((r) => r.seconds.rates), admm: sum((r) => r.seconds.admm), prune: sum((r) => r.seconds.prune), retrain: s.seconds.retrain },
    removed: { zero: sum((r) => r.removed?.zero ?? 0), dead: sum((r) => r.removed?.dead ?? 0) },
  };
}

function cli(extra: Record<string, Options>, rates: (args: RoundArgs) => RoundsSettings['rates']): MethodCli<RoundsSettings> {
  return {
    options: { ...ROUND_OPTIONS, ...extra },
    settings: (raw, common) => roundsSettings(raw as RoundArgs, common, rates(raw as RoundArgs)),
  };
}

export const admm: MethodPlugin<RoundsSettings> = {
  name: 'admm',
  module: import.meta.url,
  exportName: 'admm',
  summary:
    'ADMM structured pruning: rounds that enforce per-set group budgets (uniform rates, or --rates) with a proximal\n' +
    'term ρ(W − Z + U) on the gradients, hard-prune to Z, retrain with the mask fixed, prune and verify.',
  cli: cli(
    {
      rates: {
        type: 'string',
        describe:
          'JSON file of per-set rates, { "rates": [{ "stems": ["conv1"], "rate": 0.5 }, ...] } (sets named by their stem nodes, as otoc groups and a report\'s method.rates name them): ' +
          'how the sets\' rates compare, scaled to the target as uniform rates are (default: uniform)',
      },
    },
    (args) => (args.rates === undefined ? { kind: 'uniform' } : { kind: 'file', file: args.rates, ...parseRatesFile(readRatesFile(args.rates), args.rates) }),
  ),
  session,
  plan: roundsPlan,
  report,
};

export const autocompress: MethodPlugin<RoundsSettings> = {
  name: 'autocompress',
  module: import.meta.url,
  exportName: 'autocompress',
  summary:
    'AutoCompress: each round searches per-set pruning rates by simulated annealing (one-shot pruned candidates scored on\n' +
    'validation images, rescaled to the measured budget), then enforces them with ADMM, as --method admm.',
  cli: cli(
    {
      'search-samples': { type: 'number', describe: `Validation images that score each candidate (default ${SEARCH_DEFAULTS.samples})` },
      'search-statistics': {
        type: 'number',
        describe: `Training images that re-estimate each candidate's BatchNorm statistics before it is scored; 0: the full model's (default ${SEARCH_DEFAULTS.statistics})`,
      },
      'search-evaluations': {
        type: 'number',
        describe: `Candidates per temperature before it cools without a move (default ${ANNEALING_DEFAULTS.evaluationsPerLevel}); T goes from 100 to 20, ×0.9 per level`,
      },
      'search-runtime': {
        choices: CANDIDATE_RUNTIMES,
        describe: `Where candidates are scored: onnxruntime on the pruned copy, or the tfjs mirror with masks (default ${SEARCH_DEFAULTS.runtime}, the faster: bench search-eval)`,
      },
      experience: {
        type: 'boolean',
        describe: 'Give sets with more weights rates at least as large, in every state of the search (NNI\'s "experience" rule; default on, --no-experience to draw them freely)',
      },
    },
    (args) => {
      const samples = args.searchSamples ?? SEARCH_DEFAULTS.samples;
      const statistics = args.searchStatistics ?? SEARCH_DEFAULTS.statistics;
      const evaluations = args.searchEvaluations ?? ANNEALING_DEFAULTS.evaluationsPerLevel;
      if (!(Number.isInteger(samples) && samples >= 1)) throw new OtocError(`--search-samples must be a positive whole number, got ${samples}`);
      if (!(Number.isInteger(statistics) && statistics >= 0)) throw new OtocError(`--search-statistics must be a whole number ≥ 0, got ${statistics}`);
      if (!(Number.isInteger(evaluations) && evaluations >= 1)) throw new OtocError(`--search-evaluations must be a positive whole number, got ${evaluations}`);
      return {
        kind: 'search',
        samples,
        statistics,
        runtime: args.searchRuntime ?? SEARCH_DEFAULTS.runtime,
        annealing: { ...ANNEALING_DEFAULTS, evaluationsPerLevel: evaluations, experience: args.experience ?? true },
      };
    },
  ),
  session,
  plan: roundsPlan,
  report,
};
