/**
 * Distillation on Fashion-MNIST (issue 30), on the dense models of bench/compress-fmnist.ts (same
 * protocols, seeds and selection variables) as teachers, DHSPG at target 0.7 fine-tuning them:
 *
 * - `ce` and `kd`: the dense model fine-tuned with cross-entropy alone, and with (1 − α)·CE + α·KD
 *   (α and T the defaults), from the same weights for the same epochs (a). Beside them the summary
 *   gives compress-fmnist's from-scratch DHSPG run at 0.7.
 * - `label-free`: KD alone, the training images' labels withheld (b).
 * - `features-0.5`, `features-0.7`: the dense fmnist_vgg cut at its pooled features ([N, 128],
 *   built with the IR), compressed from unlabeled images with the scaled MSE, with the features'
 *   relative error and the 1-nearest-neighbour test accuracy of the embeddings (c).
 * - `teacher-speed`: the teacher's outputs from onnxruntime against the frozen mirror (which otoc uses).
 * - `tune-lr<lr>-start<epochs>-alpha<α>`: the fine-tuning defaults' candidates, measured on the
 *   validation split (the last 500 training images per class, which the quick protocol never
 *   trains on), never on the test images. `OTOC_BENCH_RUNS=tune` runs the grid that chose them.
 *
 * By default fmnist_vgg runs everything but the tuning, fmnist_resnet `ce` and `kd`;
 * OTOC_BENCH_RUNS runs the runs it names on every model selected. Results go to
 * bench/results/distill-fmnist/ (a finished run is skipped) and the summary to
 * bench/results/distill-fmnist.json.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset, modelImageSamples, sliceSamples, type DataSplits, type Samples } from '../src/data/index.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { tensorType } from '../src/ir/types.js';
import { dhspg as dhspgMethod, dhspgSettings } from '../src/methods/dhspg/index.js';
import type { MethodPlugin, MethodUse } from '../src/methods/method.js';
import { defaultChannelFloor } from '../src/methods/target.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { writeFileAtomically } from '../src/io/atomic.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { compress } from '../src/pipeline/compress.js';
import { withDistillation } from '../src/pipeline/distill.js';
import type { CompressionResult } from '../src/pipeline/report.js';
import { argMax, runOverSamples } from '../src/runtime/evaluate.js';
import { createSession } from '../src/runtime/ort.js';
import { floats } from '../src/runtime/teacher.js';
import { initBackend } from '../src/tfjs/backend.js';
import type { EpochReport } from '../src/train/observer.js';
import { concatenate } from '../src/train/flat-arrays.js';
import { DEFAULT_DISTILL_WEIGHT, DEFAULT_TEMPERATURE } from '../src/pipeline/distill-defaults.js';
import { MODE_DEFAULTS } from '../src/train/mode.js';
import { median } from '../src/util/stats.js';
import { replaceSection } from './doc-section.js';
import { BenchmarkSetupError, type Benchmark, type ReportRow } from './harness.js';
import { PROTOCOLS, SGD, cached, pipelineInput, resultsOnDisk, selection, trainedDense, type Protocol } from './compress-fmnist.js';
import type { RunResult } from './compress-summary.js';

const RESULTS = join(PACKAGE_ROOT, 'bench', 'results', 'distill-fmnist');
const README = join(PACKAGE_ROOT, 'README.md');
const SCRATCH_RESULTS = join(PACKAGE_ROOT, 'bench', 'results', 'compress-fmnist');
const TARGET = 0.7;
/** Validation images per class for the tuning runs: the end of each class's training part, which the quick protocol's first 1,000 per class never reach. */
const VAL_PER_CLASS = 500;
const ARMS = ['ce', 'kd'];
const VGG_ONLY = ['label-free', 'features-0.5', 'features-0.7', 'teacher-speed'];
const TUNING_GRID = ['tune-lr0.01-start0-alpha0.5', 'tune-lr0.03-start0-alpha0.5', 'tune-lr0.1-start0-alpha0.5', 'tune-lr0.03-start0-alpha0.9', 'tune-lr0.03-start0-alpha0'];
const TUNE = /^tune-lr([\d.]+)-start([\d.]+)-alpha([\d.]+)$/;
const TEACHER_SPEED_IMAGES = 2048;

/** A run's settings: what it trains toward and how. */
interface RunSpec {
  target: number;
  /** α; 0 is cross-entropy alone. */
  weight: number;
  labels: boolean;
  lr: number;
  startPruningEpochs: number;
  split: 'val' | 'test';
  /** Cut the teacher at its pooled features (c). */
  features: boolean;
}

export interface DistillResult extends RunResult {
  split: 'val' | 'test';
  settings: RunSpec & { temperature: number };
  /** The teacher's accuracy on the split (labeled runs). */
  teacherAccuracy?: number;
  distillation?: CompressionResult['distillation'];
  /** Each epoch's training and validation figures (the validation split is the evaluation's when tuning, else none). */
  epochs: EpochReport[];
  /** (c): 1-nearest-neighbour accuracy of test embeddings against training embeddings. */
  nearestNeighbour?: { teacher: number; small: number };
}

interface TeacherSpeed {
  run: 'teacher-speed';
  protocol: string;
  model: string;
  seed: number;
  images: number;
  /** Median over the repeats, microseconds per image. */
  onnxruntimeUs: number;
  mirrorUs: number;
  mirrorBatch: number;
}

export const distillFmnist: Benchmark = {
  name: 'distill-fmnist',
  description: 'Distillation: CE+KD vs CE fine-tuning at 0.7, label-free compression, a feature extractor (Fashion-MNIST)',
  async run() {
    const named = [...ARMS, ...VGG_ONLY];
    const { protocol, seeds, models, runs } = selection(named, (v) => named.includes(v) || v === 'tune' || TUNE.test(v));
    const runsOf = runSelection(runs);
    await initBackend();
    const data = await loadDataset('fashion-mnist', { limit: protocol.limit });
    const withVal = runsOf('fmnist_vgg').some((r) => TUNE.test(r)) ? await loadDataset('fashion-mnist', { limit: protocol.limit, valSplit: VAL_PER_CLASS }) : undefined;
    mkdirSync(RESULTS, { recursive: true });
    for (const seed of seeds) {
      for (const model of models) {
        for (const run of runsOf(model)) {
          if (run === 'teacher-speed') {
            await cached(protocol, model, run, seed, () => teacherSpeed(protocol, model, seed, data), RESULTS);
            continue;
          }
          const spec = specOf(run, protocol);
          const runData = spec.split === 'val' ? withVal! : data;
          await cached(protocol, model, run, seed, () => distilled(protocol, model, seed, run, spec, data, runData), RESULTS);
        }
      }
    }
    // Every run on disk, whichever this invocation ran.
    const onDisk = resultsOnDisk<DistillResult | TeacherSpeed>(RESULTS);
    const distilledRuns = onDisk.filter((r): r is DistillResult => r.run !== 'teacher-speed');
    const summary = summarizeArms(distilledRuns);
    const speeds = onDisk.filter((r): r is TeacherSpeed => r.run === 'teacher-speed');
    writeFileAtomically(README, replaceSection(readFileSync(README, 'utf8'), 'distill-fmnist', markdown(distilledRuns, speeds, summary.means)));
    return { rows: [...speeds.map(speedRow), ...distilledRuns.map(row), ...summary.rows], results: { protocols: PROTOCOLS, runs: onDisk, summary: summary.means } };
  },
};

/** The runs per model: those OTOC_BENCH_RUNS names (`tune`: the tuning grid) for every model, else the default set. */
function runSelection(runs: string[]): (model: string) => string[] {
  if (!process.env.OTOC_BENCH_RUNS) return (model) => (model === 'fmnist_vgg' ? runs : ARMS);
  const expanded = runs.flatMap((r) => (r === 'tune' ? TUNING_GRID : [r]));
  return () => expanded;
}

function specOf(run: string, protocol: Protocol): RunSpec {
  const finetune = MODE_DEFAULTS.finetune;
  const base: RunSpec = { target: TARGET, weight: DEFAULT_DISTILL_WEIGHT, labels: true, lr: finetune.lr, startPruningEpochs: finetune.startPruningEpochs, split: 'test', features: false };
  const tune = TUNE.exec(run);
  if (tune) {
    if (protocol.name !== 'quick') throw new BenchmarkSetupError('the tuning runs use the quick protocol: its validation images lie outside its training images');
    return { ...base, lr: Number(tune[1]), startPruningEpochs: Number(tune[2]), weight: Number(tune[3]), split: 'val' };
  }
  if (run === 'ce') return { ...base, weight: 0 };
  if (run === 'label-free') return { ...base, weight: 1, labels: false };
  if (run.startsWith('features-')) return { ...base, weight: 1, labels: false, features: true, target: Number(run.slice('features-'.length)) };
  return base;
}

/** The dense model of the seed as the teacher, DHSPG fine-tuning it toward the teacher's outputs (or labels alone). */
async function distilled(protocol: Protocol, name: string, seed: number, run: string, spec: RunSpec, denseData: DataSplits, data: DataSplits): Promise<DistillResult> {
  const dense = decodeModel(await trainedDense(protocol, name, seed, denseData));
  const teacher = encodeModel(spec.features ? cutAtFeatures(dense) : dense).model;
  const student = decodeModel(teacher);
  const pruning = { targetSparsity: spec.target, groupDivisible: 1, channelFloor: defaultChannelFloor(spec.target) };
  const method: MethodUse = {
    plugin: dhspgMethod as MethodPlugin,
    settings: dhspgSettings(SGD, pruning, seed, { startPruning: { epochs: spec.startPruningEpochs } }),
  };
  const plain = { ...pipelineInput(student, data, protocol.epochs, spec.lr, seed, method, { split: spec.split }), target: pruning };
  // Tuning runs watch the validation images every epoch too; the others train without validation, as compress-fmnist's.
  const base = spec.split === 'val' ? { ...plain, data: { ...plain.data, val: plain.evaluation!.samples } } : plain;
  const unlabeled = (s: Samples): Samples => ({ count: s.count, inputs: s.inputs });
  // Training never sees a label then; the classifier's test images keep theirs, for its accuracy (an embedding has none).
  const evaluation = spec.features ? { ...base.evaluation!, samples: unlabeled(base.evaluation!.samples) } : base.evaluation!;
  const input = spec.labels ? base : { ...base, data: { train: unlabeled(base.data.train), ...(base.data.val && { val: unlabeled(base.data.val) }) }, evaluation };
  const featureOutputs = spec.features ? [student.graph.outputs[0].name] : [];
  const { input: taught } = await withDistillation(input, {
    teacher: { model: teacher, file: `${protocol.name}-${name}-dense-seed${seed}` },
    temperature: DEFAULT_TEMPERATURE,
    weight: spec.weight,
    mseOutputs: featureOutputs,
  });
  const epochs: EpochReport[] = [];
  const { result: r, small } = (await compress(taught, { observer: { training: { onEpoch: (e) => epochs.push(e) } } }))!;
  const t = r.training;
  return {
    protocol: protocol.name,
    model: name,
    run,
    seed,
    split: spec.split,
    settings: { ...spec, temperature: DEFAULT_TEMPERATURE },
    testAccuracy: {
      full: r.accuracy?.full ?? Number.NaN,
      small: r.accuracy?.small ?? r.distillation?.accuracy?.small ?? Number.NaN,
    },
    ...(r.distillation?.accuracy && { teacherAccuracy: r.distillation.accuracy.teacher }),
    full: { parameters: r.full.parameters, macs: r.full.macs, latencyMs: r.latency.fullMs },
    small: { parameters: r.small.parameters, macs: r.small.macs, latencyMs: r.latency.smallMs },
    groupSparsity: r.groupSparsity?.reached ?? Number.NaN,
    trainSeconds: t.seconds,
    imagesPerSecond: t.imagesPerSecond,
    smallNetworkFromStep: t.smallNetworkFromStep,
    distillation: r.distillation,
    epochs,
    ...(spec.features && { nearestNeighbour: await nearestNeighbourAccuracy(teacher, small, denseData) }),
  };
}

/**
 * The trained classifier cut at its pooled features: its last Gemm's input (the flattened
 * global average pool, [N, 128] on fmnist_vgg) becomes the output, and the head goes.
 */
export function cutAtFeatures(model: Model): Model {
  const graph = model.graph;
  const head = [...graph.nodes].reverse().find((n) => n.opType === 'Gemm');
  const features = head?.inputs[0];
  if (!head || !features) throw new Error('the model has no Gemm head to cut');
  const width = head.inputs[1]?.constant?.dims[1];
  const input = graph.inputs[0].type;
  const batch = input?.kind === 'tensor' && input.shape ? (input.shape[0].value ?? input.shape[0].param ?? null) : null;
  features.type = tensorType(DataType.FLOAT, [batch, width ?? null]);
  graph.outputs = [features];
  graph.cleanup();
  return model;
}

/** 1-NN accuracy (Euclidean) of the test images' embeddings against the training images', for the teacher and the small model. */
async function nearestNeighbourAccuracy(teacher: Uint8Array, small: Uint8Array, data: DataSplits): Promise<{ teacher: number; small: number }> {
  const [train, test] = [data.train, data.test!];
  const accuracyOf = async (model: Uint8Array) => {
    const session = await createSession(model);
    const embed = async (images: Samples) => {
      const rows: Float32Array[] = [];
      for await (const run of runOverSamples(session, images)) rows.push(floats(run.outputs[0]));
      return concatenate(rows);
    };
    const m = decodeModel(model);
    const [a, b] = [await embed(modelImageSamples(m, train)), await embed(modelImageSamples(m, test))];
    await session.release();
    return nearestNeighbour(a, train.labels, b, test.labels);
  };
  return { teacher: await accuracyOf(teacher), small: await accuracyOf(small) };
}

/** The fraction of `query` rows whose nearest `reference` row (squared Euclidean distance) has their label. */
function nearestNeighbour(reference: Float32Array, referenceLabels: Int32Array, query: Float32Array, queryLabels: Int32Array): number {
  const n = referenceLabels.length;
  const d = reference.length / n;
  const norms = Float32Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let k = 0; k < d; k++) s += reference[j * d + k] ** 2;
    return s;
  });
  let correct = 0;
  for (let i = 0; i < queryLabels.length; i++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += query[i * d + k] * reference[j * d + k];
      const distance = norms[j] - 2 * dot;
      if (distance < bestDistance) [best, bestDistance] = [j, distance];
    }
    if (referenceLabels[best] === queryLabels[i]) correct++;
  }
  return correct / queryLabels.length;
}

/**
 * The teacher's outputs on the first training images: onnxruntime at the file's batch (1) against
 * the mirror in eval mode at batch 256, taking turns, median of 3 repeats.
 */
async function teacherSpeed(protocol: Protocol, name: string, seed: number, data: DataSplits): Promise<TeacherSpeed> {
  const model = decodeModel(await trainedDense(protocol, name, seed, data));
  const samples = sliceSamples(modelImageSamples(model, data.train), 0, TEACHER_SPEED_IMAGES);
  const session = await createSession(encodeModel(model).model);
  const mirror = buildMirror(model);
  const mirrorBatch = 256;
  const times = { onnxruntime: [] as number[], mirror: [] as number[] };
  for (let repeat = 0; repeat < 3; repeat++) {
    let t0 = performance.now();
    for await (const run of runOverSamples(session, samples)) argMax(floats(run.outputs[0]), 0, 1);
    times.onnxruntime.push(performance.now() - t0);
    t0 = performance.now();
    for (let start = 0; start < samples.count; start += mirrorBatch) {
      const batch = sliceSamples(samples, start, Math.min(samples.count, start + mirrorBatch));
      const [input] = batch.inputs;
      tf.tidy(() => mirror.forward({ [input.name]: tf.tensor(input.data, [batch.count, ...input.sampleDims]) }, { training: false })[0].dataSync());
    }
    times.mirror.push(performance.now() - t0);
  }
  mirror.dispose();
  await session.release();
  const us = (ms: number[]) => (1000 * median(ms)) / samples.count;
  return { run: 'teacher-speed', protocol: protocol.name, model: name, seed, images: samples.count, onnxruntimeUs: us(times.onnxruntime), mirrorUs: us(times.mirror), mirrorBatch };
}

function speedRow(r: TeacherSpeed): ReportRow {
  return {
    metric: `${r.model} teacher outputs`,
    value: `onnxruntime ${r.onnxruntimeUs.toFixed(0)} µs/image (file batch 1), frozen mirror ${r.mirrorUs.toFixed(0)} µs/image (batch ${r.mirrorBatch}): ${(r.mirrorUs / r.onnxruntimeUs).toFixed(2)}×`,
  };
}

const pct = (x: number | null | undefined) => (x === undefined || x === null || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(2)}%`);

function row(r: DistillResult): ReportRow {
  const d = r.distillation?.outputs[0];
  const nn = r.nearestNeighbour ? `, 1-NN ${pct(r.nearestNeighbour.small)} (teacher ${pct(r.nearestNeighbour.teacher)})` : '';
  return {
    metric: `${r.protocol} ${r.model} ${r.run} seed ${r.seed}`,
    value:
      (r.settings.features ? '' : `${r.split} acc ${pct(r.testAccuracy.small)} (teacher ${pct(r.teacherAccuracy)}), `) +
      `params ${r.small.parameters} / ${r.full.parameters}` +
      (d ? `, rel. error ${d.relativeError.toFixed(3)}${d.agreement ? `, agreement ${pct(d.agreement.top1)}` : ''}` : '') +
      nn,
  };
}

interface ArmMeans {
  protocol: string;
  model: string;
  seeds: number[];
  dense: number;
  scratch?: number;
  ce: number;
  kd: number;
  kdDeltaPoints: number;
  met: boolean;
}

/** (a): per protocol and model, the means over the seeds that have both arms, against dense and from-scratch DHSPG at 0.7. */
function summarizeArms(runs: readonly DistillResult[]): { means: ArmMeans[]; rows: ReportRow[] } {
  const scratch = resultsOnDisk<RunResult>(SCRATCH_RESULTS);
  const keys = [...new Set(runs.filter((r) => r.run === 'kd').map((r) => `${r.protocol} ${r.model}`))];
  const means = keys.flatMap((key): ArmMeans[] => {
    const [protocol, model] = key.split(' ');
    const of = (run: string, from: readonly RunResult[] = runs) => from.filter((r) => r.protocol === protocol && r.model === model && r.run === run);
    const seeds = of('kd').map((r) => r.seed).filter((s) => of('ce').some((r) => r.seed === s)).sort();
    if (!seeds.length) return [];
    const mean = (rs: RunResult[], value = (r: RunResult) => r.testAccuracy.small) => {
      const on = rs.filter((r) => seeds.includes(r.seed));
      return on.length === seeds.length ? on.reduce((a, r) => a + value(r), 0) / on.length : undefined;
    };
    const dense = mean(of('kd'), (r) => (r as DistillResult).teacherAccuracy!)!;
    const kd = mean(of('kd'))!;
    const kdDeltaPoints = Math.round(1e4 * (kd - dense)) / 100;
    return [{ protocol, model, seeds, dense, scratch: mean(of('dhspg-0.7', scratch)), ce: mean(of('ce'))!, kd, kdDeltaPoints, met: kdDeltaPoints >= -0.5 }];
  });
  const rows = means.map((m) => ({
    metric: `${m.protocol} ${m.model} CE+KD vs dense (seeds ${m.seeds.join(',')})`,
    value: `kd ${pct(m.kd)}, ce ${pct(m.ce)}, dense ${pct(m.dense)}, from-scratch DHSPG ${pct(m.scratch)}: ${m.kdDeltaPoints >= 0 ? '+' : ''}${m.kdDeltaPoints.toFixed(2)} pt`,
    target: '>= -0.5 pt',
    met: m.met,
  }));
  return { means, rows };
}

/** README's tables (section `distill-fmnist`), from every result on disk. */
function markdown(runs: readonly DistillResult[], speeds: readonly TeacherSpeed[], means: readonly ArmMeans[]): string {
  const signed = (points: number) => `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(2)} pt`;
  const delta = (r: DistillResult) => (r.teacherAccuracy === undefined || Number.isNaN(r.testAccuracy.small) ? '' : signed(100 * (r.testAccuracy.small - r.teacherAccuracy)));
  const lines = [
    '| protocol | model | seed | run | images | α | lr | accuracy (small) | teacher | Δ vs teacher | parameters | rel. error | top-1 agreement | 1-NN (small / teacher) | training |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...[...runs]
      .sort((a, b) => `${a.split}${a.model}${a.seed}${a.run}`.localeCompare(`${b.split}${b.model}${b.seed}${b.run}`))
      .map((r) => {
        const d = r.distillation?.outputs[0];
        const s = r.settings;
        const nn = r.nearestNeighbour ? `${pct(r.nearestNeighbour.small)} / ${pct(r.nearestNeighbour.teacher)}` : '';
        const images = s.labels ? 'labeled' : 'unlabeled';
        return `| ${r.protocol} | ${r.model}${s.features ? ' features' : ''} | ${r.seed} | ${r.run} | ${images}, ${r.split} split | ${s.weight} | ${s.lr} | ${s.features ? '' : pct(r.testAccuracy.small)} | ${pct(r.teacherAccuracy)} | ${delta(r)} | ${r.small.parameters.toLocaleString('en-US')} of ${r.full.parameters.toLocaleString('en-US')} | ${d ? d.relativeError.toFixed(3) : ''} | ${d?.agreement ? pct(d.agreement.top1) : ''} | ${nn} | ${Math.round(r.trainSeconds)} s |`;
      }),
  ];
  if (means.length) {
    lines.push('', '| protocol | model | seeds | dense (teacher) | from-scratch DHSPG@0.7 | CE fine-tuned | CE+KD fine-tuned | CE+KD vs dense |', '|---|---|---|---|---|---|---|---|');
    for (const m of means) lines.push(`| ${m.protocol} | ${m.model} | ${m.seeds.join(', ')} | ${pct(m.dense)} | ${pct(m.scratch)} | ${pct(m.ce)} | ${pct(m.kd)} | **${signed(m.kdDeltaPoints)}** (${m.met ? 'within' : 'not within'} 0.5 pt) |`);
  }
  for (const r of speeds) lines.push('', `Teacher outputs (${r.protocol} ${r.model}, seed ${r.seed}, ${r.images} images): ${speedRow(r).value}.`);
  return `${lines.join('\n')}\n`;
}
