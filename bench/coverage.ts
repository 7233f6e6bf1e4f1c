/**
 * Coverage of the corpus by the training mirror (`make bench BENCH=coverage`): for every model of
 * ../shared/corpus,
 *  - forward: the mirror (eval mode) against onnxruntime on the stored input and 2 random inputs;
 *  - backward: a few SGD steps through the mirror in training mode (BatchNorm on batch
 *    statistics, Dropout active) on a fixed batch of random inputs, loss = mean squared distance
 *    to a fixed random target of the output's shape; every parameter must get a finite gradient;
 *    a step is clipped to a global gradient norm of MAX_NORM (the nets have random weights);
 *  - prune+verify: the trained weights (and moved BatchNorm statistics) written back, half the
 *    prunable groups of every group set zeroed and pruned, the small model against the full one in
 *    onnxruntime on the stored input and 4 random inputs.
 * A model the mirror refuses gets the refusal as its reason. The table goes into docs/coverage.md.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtocError } from '../src/errors.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { makeTensor, type Tensor } from '../src/ir/tensor.js';
import { writeFileAtomically } from '../src/io/atomic.js';
import { buildMirror, type Mirror } from '../src/mirror/mirror.js';
import { toTfjs } from '../src/mirror/tensors.js';
import { decodeModel, readModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { CORPUS_DIR, PACKAGE_ROOT, corpusModel } from '../src/paths.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { pruneModel, randomZero } from '../src/pipeline/prune.js';
import { DEFAULT_TOLERANCE, compareOutputs } from '../src/runtime/compare-outputs.js';
import { inputSets } from '../src/runtime/inputs.js';
import { createSession, readTestFeeds, runSession, type Feeds } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { replaceSection } from './doc-section.js';
import { BenchmarkSetupError, type Benchmark, type ReportRow } from './harness.js';

const STEPS = 5;
const BATCH = 4;
const LR = 0.05;
const MAX_NORM = 0.5;
const PRUNE_FRACTION = 0.5;
const DOC = join(PACKAGE_ROOT, 'docs', 'coverage.md');

interface Check {
  pass: boolean;
  /** The largest |a − b| / max(1, max|a|) over the outputs and input sets. */
  maxDiff: number;
}

interface ModelCoverage {
  model: string;
  forward?: Check;
  backward?: { batch: number; params: number; finite: number; losses: number[] };
  pruneVerify?: Check & { prunableGroups: number; removedGroups: number; parameters: { before: number; after: number } };
  seconds: number;
  /** Why the model does not train, or where the run failed; absent when every check passed. */
  reason?: string;
}

export const coverage: Benchmark = {
  name: 'coverage',
  description: `every corpus model through the mirror: forward vs onnxruntime, ${STEPS} training steps on random inputs, prune+verify afterwards`,
  async run() {
    const backend = await initBackend();
    const corpus = (JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')).models as { name: string }[]).map((m) => m.name);
    const models = selectedModels(corpus);
    const results: ModelCoverage[] = [];
    for (const name of models) {
      const result = await modelCoverage(name);
      results.push(result);
      console.log(`${name}: ${verdict(result)} (${result.seconds.toFixed(1)} s)`);
    }
    // The table covers the whole corpus: a subset run leaves it as it is.
    if (models.length === corpus.length) writeFileAtomically(DOC, replaceSection(readFileSync(DOC, 'utf8'), 'training-coverage', coverageTable(results, backend)));
    const rows: ReportRow[] = results.map((r) => ({ metric: r.model, value: verdict(r) }));
    const trained = results.filter((r) => !r.reason).length;
    rows.push({ metric: 'models that train, prune and verify', value: `${trained} of ${results.length}` });
    return { rows, results: { backend, steps: STEPS, batch: BATCH, lr: LR, maxNorm: MAX_NORM, pruneFraction: PRUNE_FRACTION, models: results } };
  },
};

/** OTOC_BENCH_MODELS=a,b runs those corpus models only; a name not in the corpus is an error. */
function selectedModels(corpus: string[]): string[] {
  const wanted = process.env.OTOC_BENCH_MODELS?.split(',').filter(Boolean);
  if (!wanted) return corpus;
  const unknown = wanted.filter((m) => !corpus.includes(m));
  if (unknown.length) throw new BenchmarkSetupError(`OTOC_BENCH_MODELS: ${unknown.join(', ')} not in the corpus (${corpus.join(', ')})`);
  return corpus.filter((m) => wanted.includes(m));
}

async function modelCoverage(name: string): Promise<ModelCoverage> {
  const started = performance.now();
  const result: ModelCoverage = { model: name, seconds: 0 };
  const seconds = () => (performance.now() - started) / 1000;
  let mirror: Mirror | undefined;
  try {
    const model = readModel(corpusModel(name));
    const feeds = await referenceFeeds(model, name);
    mirror = buildMirror(model);
    result.forward = await forwardCheck(mirror, model, feeds);
    result.backward = train(mirror, feeds[0]);
    if (result.backward.finite < result.backward.params) throw new Error(`${result.backward.params - result.backward.finite} parameters got no finite gradient`);
    if (!result.backward.losses.every(Number.isFinite)) throw new Error(`training diverged (losses ${result.backward.losses.join(', ')})`);
    mirror.exportTo(model);
    result.pruneVerify = await pruneAndVerify(model, feeds);
    const failed = [!result.forward.pass && 'the forward pass differs from onnxruntime', !result.pruneVerify.pass && 'the pruned model differs'].filter(Boolean);
    if (failed.length) result.reason = failed.join('; ');
  } catch (e) {
    result.reason = e instanceof OtocError ? e.message : `error: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    mirror?.dispose();
  }
  return { ...result, seconds: seconds() };
}

/** The stored test input and two seeded random input sets of the file's shapes. */
async function referenceFeeds(model: Model, name: string): Promise<Feeds[]> {
  const names = model.graph.inputs.filter((v) => !v.isConstant).map((v) => v.name);
  return [
    readTestFeeds(join(CORPUS_DIR, name, 'test_data_set_0'), names),
    ...inputSets({ kind: 'random', count: 2, seed: 11, shapes: new Map() }, model, names),
  ];
}

const ratio = (c: ReturnType<typeof compareOutputs>) => c.maxAbsDiff / Math.max(1, c.maxAbsReference);

async function forwardCheck(mirror: Mirror, model: Model, feeds: Feeds[]): Promise<Check> {
  const session = await createSession(encodeModel(model).model);
  let check: Check = { pass: true, maxDiff: 0 };
  for (const f of feeds) {
    const expected = await runSession(session, f);
    const got = tf.tidy(() => mirror.forward(tensors(f), { training: false }).map((y) => tf.cast(y, 'float32')));
    expected.forEach((e, i) => {
      const c = compareOutputs(e, makeTensor(e.name, DataType.FLOAT, got[i].shape, got[i].dataSync() as Float32Array), DEFAULT_TOLERANCE);
      check = { pass: check.pass && c.pass, maxDiff: Math.max(check.maxDiff, ratio(c)) };
    });
    tf.dispose(got);
  }
  await session.release();
  return check;
}

function tensors(feeds: Feeds): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toTfjs(t)]));
}

/**
 * SGD on a fixed batch: BATCH copies of `sample` made different by seeded noise, or the sample
 * alone when the model pins its batch. Returns the loss before each step and after the last.
 */
function train(mirror: Mirror, sample: Feeds): NonNullable<ModelCoverage['backward']> {
  const batch = tryBatch(mirror, sample);
  const inputs = batched(sample, batch);
  const target = tf.tidy(() => mirror.forward(inputs, { training: false }).map((y, i) => tf.randomNormal(y.shape, 0, 1, 'float32', 23 + i)));
  const losses: number[] = [];
  let finite = 0;
  for (let step = 0; step < STEPS; step++) {
    const { value, grads } = tf.variableGrads(() => lossOf(mirror.forward(inputs, { training: true, seed: step }), target));
    losses.push(value.dataSync()[0]);
    if (step === 0) finite = [...mirror.params.values()].filter((v) => grads[v.name] && tf.tidy(() => grads[v.name].isFinite().all().dataSync()[0]) === 1).length;
    // The corpus nets have random weights: a step is clipped to a global gradient norm of MAX_NORM.
    const norm = Math.sqrt(tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
    const scale = LR * Math.min(1, MAX_NORM / norm);
    for (const variable of mirror.params.values()) {
      const g = grads[variable.name];
      if (g) variable.assign(tf.tidy(() => tf.sub(variable, tf.mul(g, scale))));
    }
    tf.dispose([value, ...Object.values(grads)]);
  }
  losses.push(tf.tidy(() => lossOf(mirror.forward(inputs, { training: true, seed: STEPS }), target).dataSync()[0]));
  tf.dispose([...Object.values(inputs), ...target]);
  return { batch, params: mirror.params.size, finite, losses };
}

/** Mean squared distance of the outputs to their targets, summed over the outputs. */
function lossOf(outputs: tf.Tensor[], target: tf.Tensor[]): tf.Scalar {
  return tf.addN(outputs.map((y, i) => tf.mean(tf.squaredDifference(tf.cast(y, 'float32'), target[i])))) as tf.Scalar;
}

/** BATCH when the mirror runs that batch size, else the file's own (a Reshape may pin it). */
function tryBatch(mirror: Mirror, sample: Feeds): number {
  const inputs = batched(sample, BATCH);
  try {
    tf.dispose(tf.tidy(() => mirror.forward(inputs, { training: false })));
    return BATCH;
  } catch (e) {
    if (!(e instanceof OtocError) || !/batch/.test(e.message)) throw e;
    return Object.values(sample)[0].dims[0];
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

/** Each input repeated to `batch` samples along axis 0, each copy plus seeded noise of std 0.1. */
function batched(sample: Feeds, batch: number): Record<string, tf.Tensor> {
  return tf.tidy(() =>
    Object.fromEntries(
      Object.entries(sample).map(([name, t]) => {
        const x = toTfjs(t);
        if (x.dtype !== 'float32' || batch === t.dims[0]) return [name, tf.keep(x)];
        const copies = tf.concat(Array.from({ length: batch / t.dims[0] }, () => x));
        return [name, tf.keep(tf.add(copies, tf.randomNormal(copies.shape, 0, 0.1, 'float32', 31)))];
      }),
    ),
  );
}

async function pruneAndVerify(model: Model, feeds: Feeds[]): Promise<NonNullable<ModelCoverage['pruneVerify']>> {
  const outcome = pruneModel(analyzeModel(model), { zero: randomZero(PRUNE_FRACTION, 0) });
  const [full, small] = [await createSession(outcome.full), await createSession(encodeModel(outcome.small).model)];
  const names = full.inputNames;
  const sets = [feeds[0], ...inputSets({ kind: 'random', count: 4, seed: 7, shapes: new Map() }, decodeModel(outcome.full), names)];
  let check: Check = { pass: true, maxDiff: 0 };
  for (const f of sets) {
    const [a, b] = [await runSession(full, f), await runSession(small, f)];
    a.forEach((y: Tensor, i) => {
      const c = compareOutputs(y, b[i], DEFAULT_TOLERANCE);
      check = { pass: check.pass && c.pass, maxDiff: Math.max(check.maxDiff, ratio(c)) };
    });
  }
  await Promise.all([full.release(), small.release()]);
  return {
    ...check,
    prunableGroups: outcome.prunableGroups,
    removedGroups: outcome.removedGroups,
    parameters: { before: outcome.before.parameters, after: outcome.after.parameters },
  };
}

function verdict(r: ModelCoverage): string {
  if (r.reason) return `does not train: ${r.reason}`;
  const l = r.backward!.losses;
  return `trains (loss ${l[0].toPrecision(3)} → ${l.at(-1)!.toPrecision(3)}), prune+verify holds (${r.pruneVerify!.removedGroups} groups removed)`;
}

const diff = (c: Check | undefined) => (c ? `${c.pass ? 'yes' : 'NO'}, ${c.maxDiff.toExponential(1)}` : '–');

function coverageTable(results: ModelCoverage[], backend: string): string {
  const int = (n: number) => n.toLocaleString('en-US');
  const rows = results.map((r) => {
    const b = r.backward;
    const p = r.pruneVerify;
    return [
      r.model,
      diff(r.forward),
      b ? `${b.finite === b.params ? 'yes' : 'NO'}, ${b.finite}/${b.params} params, batch ${b.batch}` : '–',
      b ? `${b.losses[0].toPrecision(3)} → ${b.losses.at(-1)!.toPrecision(3)}` : '–',
      !p ? '–' : p.prunableGroups === 0 ? 'no prunable group (see above)' : `${diff(p)}; ${p.removedGroups} of ${p.prunableGroups} groups, ${int(p.parameters.before)} → ${int(p.parameters.after)} params`,
      `${r.seconds.toFixed(1)} s`,
      r.reason ?? '',
    ];
  });
  return [
    '## Training through the mirror',
    '',
    `Generated by \`make bench BENCH=coverage\` (bench/coverage.ts, tfjs ${backend} backend). For every corpus model:`,
    '',
    '- **forward**: the mirror in eval mode against onnxruntime on the stored input and 2 random inputs, within',
    '  atol = rtol = 1e-4; the number is the largest |Δ| / max(1, max|output|);',
    `- **backward**: ${STEPS} SGD steps (lr ${LR}, each clipped to a global gradient norm of ${MAX_NORM}: the nets have random weights)`,
    `  in training mode on a fixed batch of ${BATCH} random inputs (the file's batch where a Reshape pins it), loss = mean`,
    '  squared distance to a fixed random target; every parameter must get a finite gradient; the loss before the first',
    '  step and after the last;',
    `- **prune+verify**: the trained weights and BatchNorm statistics written back, ${PRUNE_FRACTION} of the prunable groups of every`,
    '  group set zeroed and pruned, the small model against the full one in onnxruntime on the stored input and 4 random',
    '  inputs (the same tolerance).',
    '',
    'The last column says why a model does not train, when one does not.',
    '',
    '| model | forward = onnxruntime | backward runs | loss | prune+verify after training | time | why not |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
    '',
  ].join('\n');
}
