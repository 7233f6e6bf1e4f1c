/**
 * DHSPG against AutoCompress at equal budgets (issue 28): fmnist_vgg and fmnist_resnet, the quick
 * protocol of bench/compress-fmnist.ts (its first 1,000 training images per class, 6 epochs, batch
 * 128, SGD momentum 0.9, lr 0.1 cosine, weight decay 5e-4, two shards, the test split measured),
 * seeds 0 and 1. Both methods get the same budget — parameters kept 0.1 and 0.03, MACs kept 0.2,
 * measured on the small model — the same total number of epochs and the same 1,000 validation
 * images (taken from the end of each class's training images, outside the 1,000 per class
 * trained on): AutoCompress scores its search candidates on them, and both trainers report them
 * after each epoch. The dense baseline is compress-fmnist's run of the same seed (its result file,
 * run when missing).
 *
 * The ρ runs (`rho-…`, run only when OTOC_BENCH_RUNS names them) measure AutoCompress's ρ
 * schedules at parameters kept 0.1 on the other 5,000 validation images, never on the test split:
 * they chose the default (src/methods/admm/index.ts).
 *
 * Every run writes bench/results/autocompress-fmnist/<protocol>-<model>-<run>-seed<k>.json and is
 * skipped when that file exists, so the benchmark resumes; a run under way checkpoints after every
 * epoch (bench/out/checkpoints/, removed when it finishes) and continues from there when the
 * benchmark is run again. OTOC_BENCH_SEEDS, OTOC_BENCH_MODELS and
 * OTOC_BENCH_RUNS pick a subset. The summary over every run on disk goes to
 * bench/results/autocompress-fmnist.json and to the README's table (between its markers).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, modelImageSamples, sliceSamples, type DataSplits } from '../src/data/index.js';
import { autocompress, ROUNDS_DEFAULTS, SEARCH_DEFAULTS } from '../src/methods/admm/index.js';
import type { RoundsSettings } from '../src/methods/admm/plan.js';
import { ANNEALING_DEFAULTS } from '../src/methods/admm/search.js';
import { dhspg as dhspgMethod, dhspgSettings } from '../src/methods/dhspg/index.js';
import type { MethodPlugin, MethodUse } from '../src/methods/method.js';
import { defaultChannelFloor, nominalSparsity, type BudgetKind, type PruningTarget } from '../src/methods/target.js';
import { readModel } from '../src/onnx/read.js';
import { PACKAGE_ROOT, corpusModel } from '../src/paths.js';
import { compress } from '../src/pipeline/compress.js';
import type { CompressionResult } from '../src/pipeline/report.js';
import { writeFileAtomically } from '../src/io/atomic.js';
import type { Json } from '../src/plugins.js';
import { initBackend } from '../src/tfjs/backend.js';
import { CHECKPOINT_FILE } from '../src/train/checkpoint.js';
import type { EpochReport } from '../src/train/observer.js';
import { replaceSection } from './doc-section.js';
import { LR, MODELS, PROTOCOLS, SGD, cached, dense, pipelineInput, result, resultPath, resultsOnDisk, row, type Protocol } from './compress-fmnist.js';
import type { RunResult } from './compress-summary.js';
import { BenchmarkSetupError, envList, type Benchmark, type ReportRow } from './harness.js';

const BUDGETS: { kind: BudgetKind; keep: number }[] = [
  { kind: 'params', keep: 0.1 },
  { kind: 'params', keep: 0.03 },
  { kind: 'macs', keep: 0.2 },
];
const METHODS = ['dhspg', 'autocompress'] as const;
type MethodName = (typeof METHODS)[number];
/** ρ schedules measured on the validation images: ρ of a round's first ADMM iteration, and its growth per iteration. */
const RHO_SCHEDULES = [
  { rho: 1e-3, growth: 2 },
  { rho: 1e-2, growth: 2 },
  // NNI's: fixed.
  { rho: 1e-4, growth: 1 },
];
const RHO_BUDGET = BUDGETS[0];
const SEEDS = [0, 1];
const SEARCH_IMAGES = 1000;
const RESULTS = join(PACKAGE_ROOT, 'bench', 'results', 'autocompress-fmnist');
const README = join(PACKAGE_ROOT, 'README.md');
const CHECKPOINTS = join(PACKAGE_ROOT, 'bench', 'out', 'checkpoints');
/** What the issue asks at parameters kept 0.1: the better method within this many points of dense. */
const TARGET_POINTS = 0.5;

const budgetName = (b: { kind: BudgetKind; keep: number }) => `${b.kind}-${b.keep}`;
const methodRuns = BUDGETS.flatMap((b) => METHODS.map((m) => `${m}-${budgetName(b)}`));
const rhoRuns = RHO_SCHEDULES.map((s) => `rho-${s.rho}x${s.growth}`);

/**
 * A run's result: compress-fmnist's, with the budget, what purification removed and the search's
 * time. The ρ runs are measured on validation images: their accuracy is `valAccuracy`, never
 * `testAccuracy`.
 */
export type BudgetRun = Omit<RunResult, 'testAccuracy'> &
  ({ split: 'test'; testAccuracy: RunResult['testAccuracy'] } | { split: 'val'; valAccuracy: RunResult['testAccuracy'] }) & {
    method?: MethodName;
    budget?: { kind: string; asked: number; reached: number };
    removed?: { zero: number; dead: number };
    searchSeconds?: number;
  };

export const autocompressFmnist: Benchmark = {
  name: 'autocompress-fmnist',
  description: 'DHSPG vs AutoCompress at equal budgets (params 0.1, 0.03, MACs 0.2) on fmnist_vgg / fmnist_resnet, quick protocol',
  async run() {
    const protocol = PROTOCOLS.quick;
    const seeds = envList('OTOC_BENCH_SEEDS', SEEDS.map(String), (v) => /^\d+$/.test(v), 'a whole number').map(Number);
    const models = envList('OTOC_BENCH_MODELS', MODELS);
    const runs = process.env.OTOC_BENCH_RUNS ? envList('OTOC_BENCH_RUNS', ['dense', ...methodRuns, ...rhoRuns]) : ['dense', ...methodRuns];
    await initBackend();
    const data = await loadDataset('fashion-mnist', { limit: protocol.limit, valSplit: 0.1 });
    if (!data.val || data.val.labels.length < 2 * SEARCH_IMAGES) throw new BenchmarkSetupError('too few validation images');
    mkdirSync(RESULTS, { recursive: true });
    const rows: ReportRow[] = [];
    for (const seed of seeds) {
      for (const model of models) {
        const run = async (name: string, work: () => Promise<RunResult | BudgetRun>) => {
          if (runs.includes(name)) rows.push(runRow(await cached(protocol, model, name, seed, work, name === 'dense' ? undefined : RESULTS)));
        };
        await run('dense', () => dense(protocol, model, seed, data));
        for (const schedule of RHO_SCHEDULES) {
          await run(`rho-${schedule.rho}x${schedule.growth}`, () => budgetRun(protocol, model, seed, data, 'autocompress', RHO_BUDGET, schedule));
        }
        for (const budget of BUDGETS) {
          for (const method of METHODS) await run(`${method}-${budgetName(budget)}`, () => budgetRun(protocol, model, seed, data, method, budget));
        }
      }
    }
    const onDisk = resultsOnDisk<BudgetRun>(RESULTS);
    // The dense runs of every model and seed on disk, not only of those this run picked.
    const modelSeeds = [...new Map(onDisk.map((r) => [`${r.model} ${r.seed}`, r])).values()];
    const denseRuns = modelSeeds.flatMap((r) => denseOnDisk(protocol, r.model, r.seed));
    const summary = summarize(onDisk, denseRuns);
    writeFileAtomically(README, replaceSection(readFileSync(README, 'utf8'), 'autocompress-fmnist', table(summary)));
    return { rows: [...rows, ...summaryRows(summary)], results: { protocol, runs: onDisk, summary } };
  },
};

/** One method at one budget (or AutoCompress with another ρ schedule, measured on validation images). */
async function budgetRun(
  protocol: Protocol,
  name: string,
  seed: number,
  data: DataSplits,
  method: MethodName,
  budget: { kind: BudgetKind; keep: number },
  rho?: { rho: number; growth: number },
): Promise<BudgetRun> {
  const model = readModel(corpusModel(name));
  const sparsity = nominalSparsity(budget.keep);
  const target: PruningTarget = { targetSparsity: sparsity, groupDivisible: 1, channelFloor: defaultChannelFloor(sparsity), budget };
  const settings: RoundsSettings = {
    base: SGD,
    seed,
    target,
    ...ROUNDS_DEFAULTS,
    ...(rho && { rho: rho.rho, rhoGrowth: rho.growth }),
    rates: { kind: 'search', samples: SEARCH_IMAGES, statistics: SEARCH_DEFAULTS.statistics, runtime: SEARCH_DEFAULTS.runtime, annealing: ANNEALING_DEFAULTS },
  };
  const use: MethodUse =
    method === 'dhspg' ? { plugin: dhspgMethod as MethodPlugin, settings: dhspgSettings(SGD, target, seed) } : { plugin: autocompress as MethodPlugin, settings };
  const samples = (from: number, to: number) => sliceSamples(modelImageSamples(model, data.val!), from, to);
  const base = pipelineInput(model, data, protocol.epochs, LR, seed, use);
  const input = {
    ...base,
    data: { ...base.data, val: samples(0, SEARCH_IMAGES) },
    ...(rho && { evaluation: { split: 'val' as const, samples: samples(SEARCH_IMAGES, data.val!.labels.length) } }),
    target,
  };
  const run = rho ? `rho-${rho.rho}x${rho.growth}` : `${method}-${budgetName(budget)}`;
  const log = (line: string) => console.error(`  ${line}`);
  const dir = join(CHECKPOINTS, `${protocol.name}-${name}-${run}-seed${seed}`);
  const checkpoint = { dir, everyEpoch: true, meta: { run, settings: use.settings as Json }, resume: existsSync(join(dir, CHECKPOINT_FILE)) };
  if (checkpoint.resume) log(`resuming from ${dir}`);
  const observer = { onMessage: log, training: { onEpoch: (e: EpochReport) => log(`epoch ${e.epoch}: val ${e.valAccuracy}`) } };
  const { result: r } = (await compress(input, { observer, checkpoint }))!;
  rmSync(dir, { recursive: true, force: true });
  return budgetResult(protocol, name, run, seed, method, r);
}

function budgetResult(protocol: Protocol, model: string, run: string, seed: number, method: MethodName, r: CompressionResult): BudgetRun {
  const t = r.training;
  const size = (s: CompressionResult['full'], latencyMs: number) => ({ parameters: s.parameters, macs: s.macs, latencyMs });
  const seconds = r.method.seconds as { rates?: number } | undefined;
  // DHSPG and AutoCompress prune: their reports always carry both.
  const [budget, g] = [r.budget!, r.groupSparsity!];
  const { testAccuracy: accuracy, ...measured } = result(
    protocol,
    model,
    run,
    seed,
    {
      full: { size: size(r.full, r.latency.fullMs), accuracy: r.accuracy!.full },
      small: { size: size(r.small, r.latency.smallMs), accuracy: r.accuracy!.small },
    },
    { seconds: t.seconds, imagesPerSecond: t.imagesPerSecond, smallNetworkFromStep: t.smallNetworkFromStep },
  );
  return {
    ...measured,
    ...(r.accuracy!.split === 'val' ? { split: 'val', valAccuracy: accuracy } : { split: 'test', testAccuracy: accuracy }),
    method,
    budget: { kind: budget.kind, asked: budget.asked, reached: budget.reached },
    removed: { zero: g.removedGroups - g.removedDead, dead: g.removedDead },
    ...(seconds?.rates !== undefined && { searchSeconds: seconds.rates }),
  };
}

/** The benchmark's row of a run: compress-fmnist's, or the validation accuracy of a ρ run. */
function runRow(r: RunResult | BudgetRun): ReportRow {
  if (!('valAccuracy' in r)) return row(r as RunResult);
  return { metric: `${r.protocol} ${r.model} ${r.run} seed ${r.seed}`, value: `val acc ${(100 * r.valAccuracy.small).toFixed(2)}% (5,000 validation images)` };
}

function denseOnDisk(protocol: Protocol, model: string, seed: number): RunResult[] {
  try {
    return [JSON.parse(readFileSync(resultPath(protocol, model, 'dense', seed), 'utf8'))];
  } catch {
    return [];
  }
}

interface Cell {
  seeds: number[];
  accuracy: number;
  parameters: number;
  macs: number;
  latencyMs: number;
  trainSeconds: number;
  searchSeconds: number;
  dead: number;
  reached: number;
}

interface BudgetSummary {
  model: string;
  budget: string;
  dense: number;
  /** Per method, means over the seeds both methods have. */
  methods: Partial<Record<MethodName, Cell>>;
  better?: MethodName;
}

interface Summary {
  budgets: BudgetSummary[];
  /** AutoCompress's ρ schedules, validation accuracy at parameters kept 0.1 (mean over seeds). */
  rho: { model: string; run: string; seeds: number[]; valAccuracy: number }[];
}

function summarize(runs: readonly BudgetRun[], dense: readonly RunResult[]): Summary {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const models = [...new Set(runs.map((r) => r.model))].sort();
  const tested = runs.filter((r): r is Extract<BudgetRun, { split: 'test' }> => r.split === 'test');
  const validated = runs.filter((r): r is Extract<BudgetRun, { split: 'val' }> => r.split === 'val');
  const budgets: BudgetSummary[] = [];
  for (const model of models) {
    for (const b of BUDGETS) {
      const of = (m: MethodName) => tested.filter((r) => r.model === model && r.run === `${m}-${budgetName(b)}`);
      const seeds = of('dhspg').map((r) => r.seed).filter((s) => of('autocompress').some((r) => r.seed === s));
      const both = seeds.length ? seeds : [...new Set([...of('dhspg'), ...of('autocompress')].map((r) => r.seed))];
      const cell = (m: MethodName): Cell | undefined => {
        const rs = of(m).filter((r) => both.includes(r.seed));
        if (!rs.length) return undefined;
        return {
          seeds: rs.map((r) => r.seed),
          accuracy: mean(rs.map((r) => r.testAccuracy.small)),
          parameters: mean(rs.map((r) => r.small.parameters)),
          macs: mean(rs.map((r) => r.small.macs)),
          latencyMs: mean(rs.map((r) => r.small.latencyMs)),
          trainSeconds: mean(rs.map((r) => r.trainSeconds)),
          searchSeconds: mean(rs.map((r) => r.searchSeconds ?? 0)),
          dead: mean(rs.map((r) => r.removed?.dead ?? 0)),
          reached: mean(rs.map((r) => r.budget?.reached ?? 0)),
        };
      };
      const methods = { dhspg: cell('dhspg'), autocompress: cell('autocompress') };
      const denseRuns = dense.filter((r) => r.model === model && both.includes(r.seed));
      if (!methods.dhspg && !methods.autocompress) continue;
      const better = seeds.length && methods.dhspg && methods.autocompress ? (methods.autocompress.accuracy > methods.dhspg.accuracy ? 'autocompress' : 'dhspg') : undefined;
      budgets.push({ model, budget: budgetName(b), dense: denseRuns.length ? mean(denseRuns.map((r) => r.testAccuracy.small)) : NaN, methods, ...(better && { better }) });
    }
  }
  const rho = models.flatMap((model) =>
    rhoRuns
      .map((run) => ({ run, rs: validated.filter((r) => r.model === model && r.run === run) }))
      .filter(({ rs }) => rs.length)
      .map(({ run, rs }) => ({ model, run, seeds: rs.map((r) => r.seed), valAccuracy: mean(rs.map((r) => r.valAccuracy.small)) })),
  );
  return { budgets, rho };
}

function summaryRows(s: Summary): ReportRow[] {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const rows: ReportRow[] = s.budgets.map((b) => ({
    metric: `${b.model} ${b.budget} (seeds ${[...new Set(Object.values(b.methods).flatMap((c) => c?.seeds ?? []))].join(',')})`,
    value: `dense ${pct(b.dense)}, ${METHODS.map((m) => `${m} ${b.methods[m] ? pct(b.methods[m]!.accuracy) : '—'}`).join(', ')}; better: ${b.better ?? '—'}`,
    ...(b.budget === budgetName(BUDGETS[0]) &&
      b.better && {
        target: `better within ${TARGET_POINTS} pt of dense`,
        met: 100 * (b.dense - b.methods[b.better]!.accuracy) <= TARGET_POINTS,
      }),
  }));
  for (const r of s.rho) rows.push({ metric: `${r.model} ${r.run} (val, seeds ${r.seeds.join(',')})`, value: pct(r.valAccuracy) });
  return rows;
}

/** The README's table: per model and budget, both methods' means, the better one in bold. */
function table(s: Summary): string {
  const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(2)}%`);
  const int = (x: number) => Math.round(x).toLocaleString('en-US');
  const lines = [
    '| model | budget | dense | method | test accuracy | Δ vs dense | parameters | MACs | ORT latency | training | search | dead removed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const b of s.budgets) {
    for (const m of METHODS) {
      const c = b.methods[m];
      if (!c) continue;
      const name = b.better === m ? `**${m}**` : m;
      const delta = Number.isNaN(b.dense) ? '' : `${c.accuracy >= b.dense ? '+' : '−'}${(100 * Math.abs(c.accuracy - b.dense)).toFixed(2)} pt`;
      lines.push(
        `| ${b.model} | ${b.budget} (reached ${c.reached.toFixed(3)}) | ${pct(b.dense)} | ${name} (seeds ${c.seeds.join(',')}) | ${pct(c.accuracy)} | ${delta} | ` +
          `${int(c.parameters)} | ${int(c.macs)} | ${c.latencyMs.toFixed(3)} ms | ${c.trainSeconds.toFixed(0)} s | ${m === 'dhspg' ? '' : `${c.searchSeconds.toFixed(0)} s`} | ${c.dead.toFixed(1)} |`,
      );
    }
  }
  const target = s.budgets.filter((b) => b.budget === budgetName(BUDGETS[0]) && b.better && !Number.isNaN(b.dense));
  for (const b of target) {
    const loss = 100 * (b.dense - b.methods[b.better!]!.accuracy);
    const verdict = loss <= TARGET_POINTS ? 'met' : 'not met';
    lines.push('', `Target at ${budgetName(BUDGETS[0])} on ${b.model} (the better method within ${TARGET_POINTS} point of dense): ${verdict}, ${b.better} ${loss >= 0 ? `${loss.toFixed(2)} points below` : `${(-loss).toFixed(2)} points above`} dense.`);
  }
  if (s.rho.length) {
    lines.push('', '| model | ρ schedule (ρ₀ × growth per iteration) | validation accuracy (5,000 images) | seeds |', '|---|---|---|---|');
    for (const r of s.rho) lines.push(`| ${r.model} | ${r.run.replace(/^rho-/, '')} | ${(100 * r.valAccuracy).toFixed(2)}% | ${r.seeds.join(',')} |`);
  }
  return `${lines.join('\n')}\n`;
}
