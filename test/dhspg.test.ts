/** DHSPG on small problems: f(x) = ½‖x − c‖², groups of 4 elements in two group sets. */
import { describe, expect, it } from 'vitest';
import type { Value } from '../src/ir/graph.js';
import { BaseOptimizer, DirectionRule } from '../src/train/base-optimizers.js';
import { Dhspg, dhspgDefaults, groupLambda, type DhspgOptions } from '../src/methods/dhspg/optimizer.js';
import { defaultDeadline } from '../src/methods/dhspg/index.js';
import { defaultChannelFloor } from '../src/methods/target.js';
import type { GroupVector } from '../src/train/group-vectors.js';
import { BASE_DEFAULTS, type BaseOptions, type Parameter } from '../src/train/optimizer.js';
import { Rng } from '../src/util/random.js';

const GROUPS = 10;
const SIZE = 4;

function problem(seed: number) {
  const rng = new Rng(seed);
  const target = Float32Array.from({ length: GROUPS * SIZE + 6 }, () => rng.normal());
  const start = Float32Array.from({ length: target.length }, () => rng.normal());
  // The last 6 elements belong to no group (e.g. a classifier's weights).
  const groups: GroupVector[] = Array.from({ length: GROUPS }, (_, g) => ({
    zig: g,
    set: g < GROUPS / 2 ? 0 : 1,
    parts: [{ param: 0, offsets: Int32Array.from({ length: SIZE }, (_, k) => g * SIZE + k) }],
    size: SIZE,
  }));
  const param = (): Parameter => ({ value: {} as Value, data: start.slice() });
  const grad = (p: Parameter) => p.data.map((x, j) => x - target[j]);
  return { groups, param, grad };
}

function options(base: BaseOptions, extra: Partial<DhspgOptions> = {}): DhspgOptions {
  return {
    base,
    targetSparsity: 0.5,
    ...dhspgDefaults(base.kind),
    tolerance: 0.1,
    partitionStep: 5,
    halfSpaceStep: 10,
    groupDivisible: 1,
    seed: 0,
    deadlineStep: 150,
    ...extra,
  };
}

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 1e-3 };
const ADAMW: BaseOptions = { ...BASE_DEFAULTS, kind: 'adamw', weightDecay: 1e-2 };

const groupValues = (p: Parameter, g: GroupVector) => Array.from(g.parts[0].offsets, (j) => p.data[j]);

describe.each([SGD, { ...BASE_DEFAULTS, kind: 'adam' as const }, ADAMW])('DHSPG over $kind', (base) => {
  it('reaches the target with groups exactly zero, never above the upper bound, zero groups staying zero', () => {
    const { groups, param, grad } = problem(1);
    const p = param();
    const opt = new Dhspg([p], groups, options(base));
    const everZero = new Set<number>();
    for (let t = 0; t < 300; t++) {
      opt.step([grad(p)], 0.05);
      const stats = opt.stats();
      expect(stats.sparsity).toBeLessThanOrEqual(opt.upperBound + 1e-12);
      for (const z of everZero) expect(groupValues(p, groups[z]).every((x) => x === 0)).toBe(true);
      for (const z of opt.zeroZigs()) everZero.add(z);
    }
    expect(opt.stats().sparsity).toBeGreaterThanOrEqual(0.5);
    for (const z of opt.zeroZigs()) expect(groupValues(p, groups[z])).toEqual([0, 0, 0, 0]);
  });

  it('says its zero groups are settled from the step the target is reached, and not before', () => {
    const { groups, param, grad } = problem(3);
    const p = param();
    const opt = new Dhspg([p], groups, options(base));
    let settledAt: number | undefined;
    for (let t = 0; t < 300; t++) {
      const settled = opt.settledZeroGroups();
      const reached = opt.stats().zeroGroups >= GROUPS * 0.5;
      expect(settled, `step ${t}`).toEqual(reached ? opt.zeroZigs() : undefined);
      if (settled && settledAt === undefined) settledAt = t;
      opt.step([grad(p)], 0.05);
    }
    expect(settledAt).toBeGreaterThan(5);
  });

  it('moves groups outside G_p exactly as the base optimizer does', () => {
    const { groups, param, grad } = problem(2);
    const [a, b] = [param(), param()];
    const dhspg = new Dhspg([a], groups, options(base));
    const plain = new BaseOptimizer([b], base);
    for (let t = 0; t < 60; t++) {
      dhspg.step([grad(a)], 0.05);
      plain.step([grad(b)], 0.05);
      const penalized = new Set(groups.filter((_, i) => (dhspg.saveState().penalized as number[])[i]).flatMap((g) => [...g.parts[0].offsets]));
      for (let j = 0; j < a.data.length; j++) if (!penalized.has(j)) expect(a.data[j]).toBe(b.data[j]);
    }
  });
});

it('puts AdamW’s decoupled decay into the trial point of a penalized group', () => {
  const { groups, param, grad } = problem(3);
  const p = param();
  const o = options(ADAMW, { partitionStep: 0, halfSpaceStep: 1000, deadlineStep: undefined });
  const opt = new Dhspg([p], groups, o);
  const shadow = param();
  const rule = new DirectionRule([shadow], ADAMW);
  const g = grad(p);
  const x = p.data.slice();
  const d = rule.directions([g])[0];
  opt.step([g], 0.1);
  const penalized = groups.find((_, i) => (opt.saveState().penalized as number[])[i])!;
  const offsets = [...penalized.parts[0].offsets];
  const nx = Math.hypot(...offsets.map((j) => x[j]));
  const xd = offsets.reduce((a, j) => a + x[j] * d[j], 0);
  const nd = Math.hypot(...offsets.map((j) => d[j]));
  const lambda = groupLambda({ xd, nx, nd }, o.lambda, o.amplify, o.hatCoeff);
  for (const j of offsets) {
    const expected = x[j] - 0.1 * d[j] - 0.1 * ADAMW.weightDecay * x[j] - (0.1 * lambda * x[j]) / nx;
    expect(p.data[j]).toBeCloseTo(expected, 6);
  }
});

describe('λ_g', () => {
  const [lambda, amplify, hat] = [0.01, 2, 10];
  it('is λ when the direction does not push away from zero', () => {
    expect(groupLambda({ xd: 0.3, nx: 1, nd: 1 }, lambda, amplify, hat)).toBe(0.01);
  });
  it('is clipped from below at λ', () => {
    // amplify·(−xd/‖x‖) = 0.002 < λ; the bound ‖d‖²‖x‖/(−xd) = 1000 is not reached.
    expect(groupLambda({ xd: -0.001, nx: 1, nd: 1 }, lambda, amplify, hat)).toBe(0.01);
  });
  it('is clipped from above at λ·hat_coeff', () => {
    // amplify·100 = 200 → 0.1; the bound 10²·1/100 = 1 is not reached.
    expect(groupLambda({ xd: -100, nx: 1, nd: 10 }, lambda, amplify, hat)).toBeCloseTo(0.1, 12);
  });
  it('takes the midpoint of λ and the bound when it would exceed the bound', () => {
    // clip gives 0.1; the bound 0.2²·1/1 = 0.04 is exceeded → (0.01 + 0.04) / 2.
    expect(groupLambda({ xd: -1, nx: 1, nd: 0.2 }, lambda, amplify, hat)).toBeCloseTo(0.025, 12);
  });
});

it('rounds each group set to a multiple of group_divisible', () => {
  const { param, grad } = problem(4);
  const groups: GroupVector[] = Array.from({ length: GROUPS }, (_, g) => ({
    zig: g,
    set: 0,
    parts: [{ param: 0, offsets: Int32Array.from({ length: SIZE }, (_, k) => g * SIZE + k) }],
    size: SIZE,
  }));
  const p = param();
  const opt = new Dhspg([p], groups, options(SGD, { groupDivisible: 4, partitionStep: 0, targetSparsity: 0.7 }));
  opt.step([grad(p)], 0.05);
  const penalized = opt.stats().penalized;
  expect((GROUPS - penalized) % 4).toBe(0);
  expect(penalized).toBeGreaterThan(0);
});

it('scores a group’s magnitude by its norm, not its root mean square or ‖x‖/|g|', () => {
  // Per set, a group to choose from and a large one that stays. The small group (4 elements of
  // 0.5, ‖x‖ = 1) has the smaller norm; the big one (16 of 0.4, ‖x‖ = 1.6) the smaller root mean
  // square and the smaller ‖x‖/|g|.
  const layout = [
    { set: 0, size: 4, value: 0.5 },
    { set: 0, size: 4, value: 5 },
    { set: 1, size: 16, value: 0.4 },
    { set: 1, size: 16, value: 5 },
  ];
  let next = 0;
  const groups: GroupVector[] = layout.map(({ set, size }, zig) => ({
    zig,
    set,
    parts: [{ param: 0, offsets: Int32Array.from({ length: size }, () => next++) }],
    size,
  }));
  const p: Parameter = { value: {} as Value, data: Float32Array.from(layout.flatMap(({ size, value }) => Array<number>(size).fill(value))) };
  const opt = new Dhspg([p], groups, options(SGD, { partitionStep: 0, targetSparsity: 0.25, tolerance: 0 }));
  // The gradient of ½‖x‖² is x: every group's direction is equally aligned, the magnitude decides.
  opt.step([p.data.slice()], 0.01);
  expect(opt.saveState().penalized).toEqual([1, 0, 0, 0]);
});

/** Groups of SIZE elements holding `values`, the first eight in set 0 and the rest in set 1, partitioned at once. */
function partitioned(values: number[], extra: Partial<DhspgOptions>): number[] {
  const groups: GroupVector[] = values.map((_, zig) => ({
    zig,
    set: zig < 8 ? 0 : 1,
    parts: [{ param: 0, offsets: Int32Array.from({ length: SIZE }, (_, k) => zig * SIZE + k) }],
    size: SIZE,
  }));
  const p: Parameter = { value: {} as Value, data: Float32Array.from(values.flatMap((v) => Array<number>(SIZE).fill(v))) };
  const opt = new Dhspg([p], groups, options(SGD, { partitionStep: 0, tolerance: 0, ...extra }));
  // The gradient of ½‖x‖² is x: every group's direction is equally aligned, the magnitude decides.
  opt.step([p.data.slice()], 0.01);
  return opt.saveState().penalized as number[];
}

it('leaves every group set a channel, counting the groups already zero', () => {
  // Set 0: four zero groups and four small ones (the best scores); set 1: eight large groups.
  const penalized = partitioned([0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 5, 5, 5, 5, 5, 5, 5, 5], { targetSparsity: 0.9 });
  expect(penalized.slice(0, 8)).toEqual([0, 0, 0, 0, 1, 1, 1, 0]);
  expect(penalized.slice(8).reduce((a, b) => a + b, 0)).toBe(14 - 4 - 3);
});

describe('G_p', () => {
  const chosen = (extra: Partial<DhspgOptions>) => {
    const { groups, param, grad } = problem(5);
    const p = param();
    const opt = new Dhspg([p], groups, options(SGD, { partitionStep: 0, ...extra }));
    opt.step([grad(p)], 0.05);
    return opt.stats().penalized;
  };
  it('holds the ⌈target·N⌉ groups that make the target, however large the tolerance', () => {
    expect(chosen({ targetSparsity: 0.55, tolerance: 0.3 })).toBe(6);
    expect(chosen({ targetSparsity: 0.7, tolerance: 0.2 })).toBe(7);
  });
  it('stays within the upper bound when the tolerance leaves no room to round up', () => {
    expect(chosen({ targetSparsity: 0.55, tolerance: 0 })).toBe(5);
  });
  it('takes more groups, up to the upper bound, when rounding sets to group_divisible leaves it short', () => {
    // Two sets of 5: with group_divisible 2 a set gives 1 or 3 channels, so 6 is 3 + 3 and 5 becomes 6.
    expect(chosen({ targetSparsity: 0.5, tolerance: 0.1, groupDivisible: 2 })).toBe(6);
    expect(chosen({ targetSparsity: 0.5, tolerance: 0, groupDivisible: 2 })).toBe(4);
  });
});

describe('the channel floor', () => {
  // Set 0: eight small groups (the best scores), set 1: eight large ones; the target takes 8 of 16.
  const perSet = (channelFloor: number) => {
    const penalized = partitioned([...Array<number>(8).fill(0.1), ...Array<number>(8).fill(5)], { targetSparsity: 0.5, channelFloor });
    return [0, 8].map((start) => penalized.slice(start, start + 8).reduce((a, b) => a + b, 0));
  };
  it('keeps that share of every group set while the target allows, and gives way when it does not', () => {
    expect(perSet(0)).toEqual([7, 1]);
    expect(perSet(0.5)).toEqual([4, 4]);
    expect(perSet(0.75)).toEqual([7, 1]);
  });
  it('is none up to target 0.7, then rises to 0.075 at 0.9, and never more than 0.75 of what the target leaves', () => {
    expect([0.3, 0.5, 0.7].map(defaultChannelFloor)).toEqual([0, 0, 0]);
    expect(defaultChannelFloor(0.8)).toBeCloseTo(0.0375, 12);
    expect(defaultChannelFloor(0.9)).toBeCloseTo(0.075, 12);
    expect(defaultChannelFloor(0.98)).toBeCloseTo(0.015, 12);
  });
});

describe('the default deadline', () => {
  it('is 0.65 up to target 0.7, then earlier, 0.25 at 0.9 and beyond', () => {
    expect([0.3, 0.5, 0.7].map(defaultDeadline)).toEqual([0.65, 0.65, 0.65]);
    expect(defaultDeadline(0.8)).toBeCloseTo(0.45, 12);
    expect(defaultDeadline(0.9)).toBeCloseTo(0.25, 12);
    expect(defaultDeadline(0.999)).toBe(0.25);
  });
});
