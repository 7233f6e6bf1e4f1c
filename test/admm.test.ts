/** ADMM's split over group sets and the simulated-annealing search, on problems small enough to check by hand. */
import { describe, expect, it } from 'vitest';
import { Graph } from '../src/ir/graph.js';
import { AdmmSplit } from '../src/methods/admm/admm.js';
import { stepSplit } from '../src/methods/admm/plan.js';
import { ANNEALING_DEFAULTS, accepts, levelCount, searchLevel, startSearch, type RateProblem } from '../src/methods/admm/search.js';
import type { GroupVector } from '../src/train/group-vectors.js';
import { Rng } from '../src/util/random.js';

/** One parameter of 8 elements; groups 0–2 (set 0) of two elements each, group 3 (set 1) the last two. */
function problem(w: number[]) {
  const params = [{ value: new Graph().ensureValue('w'), data: Float32Array.from(w) }];
  const group = (zig: number, set: number, offsets: number[]): GroupVector => ({ zig, set, parts: [{ param: 0, offsets: Int32Array.from(offsets) }], size: offsets.length });
  const vectors = [group(0, 0, [0, 1]), group(1, 0, [2, 3]), group(2, 0, [4, 5]), group(3, 1, [6, 7])];
  return { params, vectors };
}

describe('ADMM over group sets', () => {
  // Set 0 keeps 1 of its 3 groups; set 1 keeps its only group, so it takes no part.
  const keep = () => 1;

  it('projects Z on the k largest groups of W + U and updates U by W − Z, as computed by hand', () => {
    const { params, vectors } = problem([3, 4, 1, 0, 0, -2, 5, 5]);
    const split = new AdmmSplit(params, vectors, keep);
    split.project();
    // ‖(3,4)‖ = 5 > ‖(0,−2)‖ = 2 > ‖(1,0)‖ = 1: only group 0 stays.
    expect([...split.z[0]]).toEqual([3, 4]);
    expect([...split.z[1]]).toEqual([0, 0]);
    expect([...split.z[2]]).toEqual([0, 0]);
    expect(split.z).toHaveLength(3);
    split.updateDual();
    expect(split.u.map((u) => [...u])).toEqual([[0, 0], [1, 0], [0, -2]]);
    expect(split.residual()).toBeCloseTo(Math.sqrt(5), 6);
    expect(split.outsideSupport()).toEqual([1, 2]);

    // The proximal gradient ρ(W − Z + U), ρ = 0.5: (0,0 | 2,0 | 0,−4)/2; set 1's elements untouched.
    const grads = [new Float32Array(8).fill(1)];
    split.addProximalGradient(grads, 0.5);
    expect([...grads[0]]).toEqual([1, 1, 2, 1, 1, -1, 1, 1]);

    // W moves: W + U = (3,4 | 1,3 | 0,−4), norms 5, √10, 4 — group 2 now outranks group 1.
    params[0].data.set([0, 3], 2);
    const two = new AdmmSplit(params, vectors, (set) => (set === 0 ? 2 : 1));
    two.restore(split.state());
    two.project();
    expect(two.z.map((z) => [...z])).toEqual([[3, 4], [0, 0], [0, -4]]);
    expect(two.outsideSupport()).toEqual([1]);
  });

  it('keeps Z, U and the support across a checkpoint', () => {
    const { params, vectors } = problem([3, 4, 1, 0, 0, -2, 5, 5]);
    const a = new AdmmSplit(params, vectors, keep);
    a.project();
    a.updateDual();
    const b = new AdmmSplit(params, vectors, keep);
    b.restore(a.state());
    expect(b.state()).toEqual(a.state());
    expect(b.outsideSupport()).toEqual(a.outsideSupport());
  });
});

describe('the step split of --method admm and autocompress', () => {
  it('gives warm-up and retrain their shares and the rounds equal parts of the rest, for any number of steps', () => {
    expect(stepSplit(474, { warmUp: 0.2, retrain: 0.3, rounds: 3 })).toEqual({ warmUp: 95, rounds: [79, 79, 79], retrain: 142 });
    for (const total of [1, 2, 7, 100]) {
      const s = stepSplit(total, { warmUp: 0.2, retrain: 0.3, rounds: 3 });
      expect(s.warmUp + s.retrain + s.rounds.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...s.rounds) - Math.min(...s.rounds)).toBeLessThanOrEqual(1);
    }
  });
});

describe('the simulated-annealing search', () => {
  it('accepts a better candidate always and a worse one with probability exp(−Δ/T), Δ in tenths of a point', () => {
    // A seed whose first draw lies between the two probabilities below.
    const p1 = Math.exp(-10 / 100); // one point worse at T = 100: 0.905
    const p2 = Math.exp(-300 / 100); // thirty points worse: 0.050
    const seed = [...Array(100).keys()].find((s) => {
      const u = new Rng(s).next();
      return u > p2 && u < p1;
    })!;
    expect(accepts(0.8, 0.79, 100, new Rng(seed))).toBe(true);
    expect(accepts(0.8, 0.81, 100, new Rng(seed))).toBe(true);
    expect(accepts(0.5, 0.8, 100, new Rng(seed))).toBe(false);
    // Colder, the same loss of one point is refused by a draw it passed at T = 100.
    const u = new Rng(seed).next();
    expect(accepts(0.8, 0.81, 20, new Rng(seed))).toBe(u < Math.exp(-10 / 20));
  });

  const identity: Omit<RateProblem, 'evaluate'> = { sizes: [10, 30, 20], rescale: (rates) => [...rates] };

  it('starts with larger rates for larger sets (the experience rule), in 16 levels from T = 100 to 20', async () => {
    const state = (await startSearch({ ...identity, evaluate: async () => 0.5 }, ANNEALING_DEFAULTS, 3))!;
    const [small, large, middle] = state.current.rates;
    expect(small).toBeLessThanOrEqual(middle);
    expect(middle).toBeLessThanOrEqual(large);
    expect(levelCount(ANNEALING_DEFAULTS)).toBe(16);
  });

  it('cools after an accepted move, or after the cap of evaluations when every candidate is refused', async () => {
    const scores = [0.5, 0.6];
    const improving = { ...identity, evaluate: async () => scores.shift()! };
    const start = (await startSearch(improving, ANNEALING_DEFAULTS, 1))!;
    const moved = await searchLevel(improving, ANNEALING_DEFAULTS, start, 2);
    expect(moved.level).toBe(1);
    expect(moved.trace).toEqual([{ temperature: 100, scores: [0.6], accepted: true, best: 0.6 }]);
    expect(moved.best.score).toBe(0.6);

    // Candidates 50 points worse pass with probability e^-5 at most: refused, three times.
    const worse = { ...identity, evaluate: async () => 0 };
    const stalled = await searchLevel(worse, { ...ANNEALING_DEFAULTS, evaluationsPerLevel: 3 }, { ...moved, current: { ...moved.current, score: 0.5 } }, 5);
    expect(stalled.level).toBe(2);
    expect(stalled.trace[1]).toEqual({ temperature: 90, scores: [0, 0, 0], accepted: false, best: 0.6 });
    expect(stalled.current.score).toBe(0.5);
  });

  it('draws the same moves again from the same level seed (a resumed search continues exactly)', async () => {
    const p = { ...identity, evaluate: async (rates: readonly number[]) => 1 - rates.reduce((a, b) => a + b, 0) / 10 };
    const start = (await startSearch(p, ANNEALING_DEFAULTS, 4))!;
    const a = await searchLevel(p, ANNEALING_DEFAULTS, start, 9);
    const b = await searchLevel(p, ANNEALING_DEFAULTS, JSON.parse(JSON.stringify(start)), 9);
    expect(b).toEqual(a);
  });
});
