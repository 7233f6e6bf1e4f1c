/**
 * The simulated-annealing search of per-set pruning rates (AutoCompress; NNI's
 * SimulatedAnnealingPruner). A state is one rate per group set, always rescaled onto the measured
 * budget. It starts as NNI does: rates drawn uniform(0, 1), sorted, and handed to the sets sorted
 * by size, so a set with more weights prunes at least as much (the "experience" rule; NNI hands
 * every state's rates out so, and so does this search). Each move adds uniform(−m, m) to every
 * rate, m = magnitude·T/T₀, and rescales; a state that empties a set or breaks the channel floor
 * is drawn again. A candidate better than the current state is
 * accepted; a worse one with probability exp(−Δ/T), Δ its loss in tenths of an accuracy point,
 * so at T = 100 a loss of one point passes nine times in ten, at T = 20 six in ten. The
 * temperature cools after each accepted move, as NNI does, or after `evaluationsPerLevel`
 * candidates, so that a level cannot stall. The best state seen is the answer.
 *
 * The search advances one temperature level at a time from a plain-JSON state (kept in the
 * pipeline's checkpoints); each level draws from its own seeded source, so a resumed search
 * continues exactly.
 */
import { Rng } from '../../util/random.js';

export interface AnnealingSettings {
  startTemperature: number;
  stopTemperature: number;
  /** T ← T·cooling after each level. */
  cooling: number;
  /** m at T₀. */
  magnitude: number;
  /** Candidates evaluated at one temperature before it cools without an accepted move. */
  evaluationsPerLevel: number;
  /** Hand every state's rates, sorted, to the sets sorted by size. */
  experience: boolean;
}

export const ANNEALING_DEFAULTS: AnnealingSettings = {
  startTemperature: 100,
  stopTemperature: 20,
  cooling: 0.9,
  magnitude: 0.35,
  evaluationsPerLevel: 5,
  experience: true,
};

/** Accuracy is scored in tenths of a point against the temperature. */
const SCORE_UNITS = 1000;
/** Draws before a start or a move gives up finding a state that keeps every set within its limits. */
const DRAWS = 50;

/** What the search needs of the model: the sets' sizes, the rescale onto the budget, the evaluation. */
export interface RateProblem {
  /** Each set's size (parameters), for the experience rule. */
  sizes: readonly number[];
  /** The rates rescaled onto the budget, or undefined when no rescale keeps every set within its limits. */
  rescale(rates: readonly number[]): number[] | undefined;
  /** The validation accuracy of the one-shot-pruned model at these (rescaled) rates. */
  evaluate(rates: readonly number[]): Promise<number>;
}

export interface Scored {
  rates: number[];
  score: number;
}

export interface LevelTrace {
  temperature: number;
  /** Accuracy of each candidate evaluated at this temperature. */
  scores: number[];
  accepted: boolean;
  /** The best accuracy so far. */
  best: number;
}

export interface SearchState {
  /** Levels done. */
  level: number;
  current: Scored;
  best: Scored;
  trace: LevelTrace[];
}

export function levelCount(s: AnnealingSettings): number {
  let n = 0;
  for (let t = s.startTemperature; t > s.stopTemperature; t *= s.cooling) n++;
  return n;
}

export function temperatureAt(s: AnnealingSettings, level: number): number {
  return s.startTemperature * s.cooling ** level;
}

/** Whether a candidate of accuracy `candidate` replaces the current state of accuracy `current` at temperature `t`. */
export function accepts(candidate: number, current: number, t: number, rng: Rng): boolean {
  if (candidate >= current) return true;
  return rng.next() < Math.exp((-(current - candidate) * SCORE_UNITS) / t);
}

/** The first state: rates drawn and rescaled (undefined when no draw fits the budget). */
export async function startSearch(problem: RateProblem, settings: AnnealingSettings, seed: number): Promise<SearchState | undefined> {
  const rng = new Rng(seed);
  for (let draw = 0; draw < DRAWS; draw++) {
    const scaled = problem.rescale(arranged(problem, settings, problem.sizes.map(() => rng.next())));
    if (!scaled) continue;
    const start = { rates: scaled, score: await problem.evaluate(scaled) };
    return { level: 0, current: start, best: start, trace: [] };
  }
  return undefined;
}

/** One temperature level from `state`; `seed` is the level's own. */
export async function searchLevel(problem: RateProblem, settings: AnnealingSettings, state: SearchState, seed: number): Promise<SearchState> {
  const rng = new Rng(seed);
  const temperature = temperatureAt(settings, state.level);
  const m = (settings.magnitude * temperature) / settings.startTemperature;
  let { current, best } = state;
  const scores: number[] = [];
  let accepted = false;
  for (let k = 0; k < settings.evaluationsPerLevel && !accepted; k++) {
    const rates = perturbed(problem, settings, current.rates, m, rng);
    if (!rates) break;
    const score = await problem.evaluate(rates);
    scores.push(score);
    if (!accepts(score, current.score, temperature, rng)) continue;
    accepted = true;
    current = { rates, score };
    if (score > best.score) best = current;
  }
  return { level: state.level + 1, current, best, trace: [...state.trace, { temperature, scores, accepted, best: best.score }] };
}

/** `rates` as the experience rule hands them out: sorted, the smallest to the set of fewest weights. */
function arranged(problem: RateProblem, settings: AnnealingSettings, rates: readonly number[]): number[] {
  if (!settings.experience) return [...rates];
  const sorted = [...rates].sort((a, b) => a - b);
  const out = new Array<number>(rates.length);
  problem.sizes
    .map((_, i) => i)
    .sort((a, b) => problem.sizes[a] - problem.sizes[b] || a - b)
    .forEach((set, k) => (out[set] = sorted[k]));
  return out;
}

function perturbed(problem: RateProblem, settings: AnnealingSettings, rates: readonly number[], m: number, rng: Rng): number[] | undefined {
  for (let draw = 0; draw < DRAWS; draw++) {
    const moved = arranged(problem, settings, rates.map((r) => Math.max(0, r + rng.uniform(-m, m))));
    const scaled = problem.rescale(moved);
    if (scaled) return scaled;
  }
  return undefined;
}
