/**
 * Distillation: the KD loss against hand-computed values, teacher outputs cached or computed per
 * batch, and a label-free compression of a two-output model built with the IR, whose small model
 * verifies against the trained full one (through the pipeline and through the one-liner).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batches, loadSamples, type Samples } from '../src/data/index.js';
import { validateJson } from '../src/io/json-schema.js';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { distillChoice } from '../src/cli/distill-run.js';
import { dhspg, dhspgSettings, type DhspgSettings } from '../src/methods/dhspg/index.js';
import type { MethodPlugin, MethodUse } from '../src/methods/method.js';
import { plainTraining } from '../src/methods/plain.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import { distillationObjective, klDivergence, scaledMse } from '../src/objectives/distillation.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel, writeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { compress } from '../src/pipeline/compress.js';
import { outputKinds, withDistillation } from '../src/pipeline/distill.js';
import type { PipelineInput } from '../src/pipeline/plan.js';
import { sampleFeeds } from '../src/runtime/evaluate.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { MODE_DEFAULTS, type TrainingMode } from '../src/train/mode.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import { EVAL_BATCH_SIZE, Trainer } from '../src/train/trainer.js';
import { ensureBuilt, otoc } from './cli.js';
import { writeNpy } from './npy-files.js';
import { OpModel } from './tiny-models.js';

const SGD: BaseOptions = { ...BASE_DEFAULTS, kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 };
const dir = mkdtempSync(join(tmpdir(), 'otoc-distill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend('wasm');
});

/** x [N, 6] → Gemm (16 hidden units) → Relu, then two heads: logits `y` [N, 4] and a regressor's value `z` [N, 1]. */
function twoHeads(seed = 0): Model {
  const m = new OpModel(13, seed);
  const h = m.node('Relu', [m.node('Gemm', [m.input('x', ['N', 6]), m.weight('W1', [6, 16], 0.6), m.weight('b1', [16], 0.1, 0.2)])]);
  const y = m.node('Gemm', [h, m.weight('W2', [16, 4], 0.6), m.weight('b2', [4], 0.1)]);
  const z = m.node('Gemm', [h, m.weight('W3', [16, 1], 0.6)]);
  y.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 4 }] };
  z.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 1 }] };
  m.graph.rename(y, 'y');
  m.graph.rename(z, 'z');
  return m.finish(y, z);
}

function baseInput(model: Model, train: Samples, val: Samples, method: MethodUse, epochs = 3): PipelineInput {
  return {
    model,
    data: { train, val },
    evaluation: { split: 'val', samples: val },
    config: { epochs, batchSize: 32, lr: 0.05, schedule: 'cosine', seed: 0, evalBatchSize: EVAL_BATCH_SIZE },
    base: SGD,
    method,
    objectives: [CROSS_ENTROPY],
    backend: 'wasm',
    latencyRuns: 3,
  };
}

describe('the distillation loss', () => {
  it('is KL(softmax(t/T) ‖ softmax(s/T))·T², the batch mean, as computed by hand', () => {
    tf.tidy(() => {
      // Row 1 by hand at T = 2: p = softmax([0, .5, 1.5]), q = softmax([.5, 1, 0]); Σ p·ln(p/q) = 0.472964; row 2 is the teacher itself.
      const student = tf.tensor2d([[1, 2, 0], [0.5, -1, 2]]);
      const teacher = tf.tensor2d([[0, 1, 3], [0.5, -1, 2]]);
      expect(klDivergence(student, teacher, 2).dataSync()[0]).toBeCloseTo(((0.4729643 + 0) / 2) * 4, 5);
      expect(klDivergence(teacher, teacher, 2).dataSync()[0]).toBeCloseTo(0, 6);
      // At T = 1 it is the plain KL divergence of the two distributions.
      const p = [Math.exp(0), Math.exp(1), Math.exp(3)].map((v, _, a) => v / a.reduce((x, y) => x + y));
      const q = [Math.exp(1), Math.exp(2), Math.exp(0)].map((v, _, a) => v / a.reduce((x, y) => x + y));
      const kl = p.reduce((a, pi, i) => a + pi * Math.log(pi / q[i]), 0);
      expect(klDivergence(student.slice([0, 0], [1, 3]), teacher.slice([0, 0], [1, 3]), 1).dataSync()[0]).toBeCloseTo(kl, 5);
    });
  });

  it('is the MSE divided by the variance on other outputs, summed over the outputs', () => {
    tf.tidy(() => {
      // Squared differences 1, 0, 0, 4: mean 1.25, over a variance of 2.
      expect(scaledMse(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[0, 2], [3, 6]]), 2).dataSync()[0]).toBeCloseTo(0.625, 6);
      const objective = distillationObjective.create(
        { outputs: [{ name: 'y', kind: 'logits' }, { name: 'z', kind: 'values', variance: 2 }], temperature: 2 },
        ['y', 'z'],
      );
      const outputs = new Map([['y', tf.tensor2d([[1, 2, 0]])], ['z', tf.tensor2d([[1, 2], [3, 4]])]]);
      const batch = { count: 1, inputs: {}, targets: { y: tf.tensor2d([[0, 1, 3]]), z: tf.tensor2d([[0, 2], [3, 6]]) } };
      expect(objective.loss(outputs, batch).dataSync()[0]).toBeCloseTo(0.4729643 * 4 + 0.625, 5);
      expect(objective.metrics!(outputs, batch).agreement.dataSync()[0]).toBe(0);
    });
  });
});

describe('the teacher', () => {
  let data: { train: Samples; val: Samples };
  beforeAll(async () => {
    const loaded = await loadSamples('random:96', twoHeads(), { valSplit: 32 });
    data = { train: loaded.train, val: loaded.val! };
  });

  const plain: MethodUse = { plugin: plainTraining as MethodPlugin, settings: SGD };
  const teacherBytes = () => encodeModel(twoHeads(7)).model;
  const distilled = (cacheBytes?: number) =>
    withDistillation(baseInput(twoHeads(), data.train, data.val, plain), { teacher: { model: teacherBytes(), file: 'teacher' }, temperature: 2, weight: 0.5, cacheBytes });

  it('gives every training and validation sample its outputs in onnxruntime, cached when they fit', async () => {
    const { input, setup } = await distilled();
    expect(setup).toMatchObject({ cached: true, weight: 1, skipped: [] });
    expect(setup.outputs.map((o) => [o.name, o.kind, o.sampleDims])).toEqual([['y', 'logits', [4]], ['z', 'values', [1]]]);
    const session = await createSession(teacherBytes());
    const [y, z] = await runSession(session, sampleFeeds(data.train));
    expect(input.data.train.targets!.map((t) => t.name)).toEqual(['y', 'z']);
    expect(input.data.train.targets![0].data).toEqual(y.data);
    expect(input.data.train.targets![1].data).toEqual(z.data);
    const zValues = Array.from(z.data as Float32Array);
    const mean = zValues.reduce((a, b) => a + b, 0) / zValues.length;
    const variance = zValues.reduce((a, b) => a + (b - mean) ** 2, 0) / zValues.length;
    expect(setup.outputs[1].variance).toBeCloseTo(variance, 4);
    expect(input.data.val!.targets![0].data.length).toBe(data.val.count * 4);
    expect(input.objectives.map((o) => [o.plugin.name, o.weight])).toEqual([['distillation', 1]]);
  });

  it('computes them per batch when they do not fit, and trains exactly as with the cache', async () => {
    const [cached, streamed] = [await distilled(), await distilled(0)];
    expect(streamed.setup.cached).toBe(false);
    expect(streamed.input.data.train.targets).toBeUndefined();
    const [batch] = batches(data.train, 16);
    const completed = await streamed.input.data.complete!(batch);
    const [cachedBatch] = batches(cached.input.data.train, 16);
    expect(completed.targets).toEqual(cachedBatch.targets);
    const train = async (input: PipelineInput) => {
      const trainer = new Trainer(analyzeModel(input.model), input.data, input.config, { method: input.method, objectives: input.objectives });
      try {
        await trainer.fit();
        return trainer.state();
      } finally {
        await trainer.dispose();
      }
    };
    const [a, b] = [await train(cached.input), await train(streamed.input)];
    expect(b.history.map((e) => [e.trainLoss, e.valLoss])).toEqual(a.history.map((e) => [e.trainLoss, e.valLoss]));
    expect(b.variables['param:W1']).toEqual(a.variables['param:W1']);
    expect(a.history.at(-1)!.extra.valAgreement).toBeGreaterThan(0);
  });

  it('weighs cross-entropy (1 − α) against distillation (α) when the data is labeled', async () => {
    const labels = Int32Array.from({ length: data.train.count }, (_, i) => i % 4);
    const input = baseInput(twoHeads(), { ...data.train, labels, classes: 4 }, data.val, plain);
    const { input: taught } = await withDistillation(input, { teacher: { model: teacherBytes(), file: 'teacher' }, temperature: 2, weight: 0.3 });
    expect(taught.objectives.map((o) => [o.plugin.name, o.weight])).toEqual([['cross-entropy', 0.7], ['distillation', 0.3]]);
  });

  it('treats [N, C ≥ 2] outputs as logits unless --mse-outputs names them, and refuses a teacher without an output', () => {
    const outputs = [
      { name: 'y', sampleDims: [4], isFloat: true },
      { name: 'z', sampleDims: [1], isFloat: true },
    ];
    expect(outputKinds(twoHeads(), outputs, [], 't').map((o) => o.kind)).toEqual(['logits', 'values']);
    expect(outputKinds(twoHeads(), outputs, ['y'], 't').map((o) => o.kind)).toEqual(['values', 'values']);
    expect(outputKinds(twoHeads(), [outputs[0], { ...outputs[1], isFloat: false }], [], 't').map((o) => o.name)).toEqual(['y']);
    expect(() => outputKinds(twoHeads(), [outputs[0]], [], 't')).toThrow("the teacher has no output 'z' (it has 'y')");
    expect(() => outputKinds(twoHeads(), [outputs[0], { ...outputs[1], sampleDims: [5] }], [], 't')).toThrow("the output 'z' is [N, 1] in the model, [N, 5] in the teacher");
    expect(() => outputKinds(twoHeads(), outputs, ['w'], 't')).toThrow("--mse-outputs names 'w', which is not a model output (outputs: y, z)");
  });
});

describe('the training mode', () => {
  const args = { model: '', temperature: 2, distillWeight: 0.5 };
  beforeAll(() => {
    args.model = join(dir, 'mode-model.onnx');
    writeModel(twoHeads(), args.model);
  });

  it('is finetune when distilling (by default: data without labels), scratch otherwise, or what --mode says', () => {
    expect(distillChoice(args, false, true)).toMatchObject({ distill: true, mode: 'finetune', teacher: { file: args.model } });
    expect(distillChoice(args, false, true).reason).toMatch(/^distillation is on/);
    expect(distillChoice(args, true, true)).toMatchObject({ distill: false, mode: 'scratch' });
    expect(distillChoice(args, true, true).teacher).toBeUndefined();
    expect(distillChoice({ ...args, distill: true }, true, true)).toMatchObject({ distill: true, mode: 'finetune' });
    expect(distillChoice({ ...args, distill: true, mode: 'scratch' }, true, true)).toMatchObject({ mode: 'scratch', reason: '--mode' });
    expect(distillChoice({ ...args, distill: false }, false, true)).toMatchObject({ distill: false, mode: 'scratch' });
    expect(() => distillChoice({ ...args, distillWeight: 1.5 }, false, true)).toThrow('--distill-weight must be between 0 and 1, got 1.5');
  });

  it('sets the defaults of the learning rate and of when DHSPG starts pruning', () => {
    const target = { targetSparsity: 0.7, groupDivisible: 1, channelFloor: 0 };
    const settings = (mode: TrainingMode) => (dhspg.cli!.settings({}, { base: SGD, seed: 0, target, mode }) as DhspgSettings).startPruning;
    expect(settings('finetune')).toEqual({ epochs: MODE_DEFAULTS.finetune.startPruningEpochs });
    expect(settings('scratch')).toEqual({ epochs: 1 });
    expect((dhspg.cli!.settings({ startPruning: '200steps' }, { base: SGD, seed: 0, target, mode: 'finetune' }) as DhspgSettings).startPruning).toEqual({ steps: 200 });
    expect(MODE_DEFAULTS.scratch.lr).toBe(0.1);
    expect(MODE_DEFAULTS.finetune.lr).toBeLessThan(MODE_DEFAULTS.scratch.lr);
  });
});

describe('a label-free compression of a two-output model', () => {
  it('trains toward the model’s own outputs, prunes, and verifies the small model against the trained full one', async () => {
    const model = twoHeads();
    const teacher = encodeModel(model).model;
    const loaded = await loadSamples('random:320', model, { valSplit: 64 });
    const target = { targetSparsity: 0.5, groupDivisible: 1, channelFloor: 0 };
    const method: MethodUse = { plugin: dhspg as MethodPlugin, settings: dhspgSettings(SGD, target, 0, { startPruning: { epochs: 0 } }) };
    const input = { ...baseInput(model, loaded.train, loaded.val!, method, 4), target };
    const { input: taught } = await withDistillation(input, { teacher: { model: teacher, file: 'model.onnx' }, temperature: 2, weight: 0.5 });
    const { result, full, small } = (await compress(taught))!;
    expect(result.equivalence.equivalent).toBe(true);
    expect(result.groupSparsity!.reached).toBeGreaterThanOrEqual(0.5);
    expect(result.small.parameters).toBeLessThan(result.full.parameters);
    expect(result.accuracy).toBeUndefined();
    const d = result.distillation!;
    expect(d).toMatchObject({ teacher: 'model.onnx', weight: 1, split: 'val', samples: 64 });
    expect(d.outputs.map((o) => [o.name, o.kind])).toEqual([['y', 'logits'], ['z', 'values']]);
    expect(d.outputs[0].agreement!.top1).toBeGreaterThan(0.5);
    for (const o of d.outputs) expect(o.relativeError).toBeLessThan(0.5);
    validateJson('report.schema.json', { model: 'model.onnx', output: 'small.onnx', ...result });
    // The report's figures are the small model's outputs against the teacher's, as onnxruntime computes them.
    const feeds = sampleFeeds(loaded.val!);
    const [t, s] = [await runSession(await createSession(teacher), feeds), await runSession(await createSession(small), feeds)];
    const diff = Math.max(...Array.from(s[1].data as Float32Array, (v, i) => Math.abs(v - (t[1].data as Float32Array)[i])));
    expect(d.outputs[1].maxAbsDiff).toBeCloseTo(diff, 5);
    expect(decodeModel(full).graph.outputs.map((v) => v.name)).toEqual(['y', 'z']);
  });
});

describe('otoc model.onnx --data samples/ -o small.onnx', () => {
  beforeAll(() => ensureBuilt());

  it('compresses any model from sample inputs alone, says how, and reports against the teacher', () => {
    const modelPath = join(dir, 'two-heads.onnx');
    writeModel(twoHeads(), modelPath);
    const samples = join(dir, 'samples');
    mkdirSync(samples);
    writeNpy(join(samples, 'x.npy'), '<f4', [400, 6], Float32Array.from({ length: 2400 }, (_, i) => Math.sin(i * 1.7)));
    const [small, report] = [join(dir, 'small.onnx'), join(dir, 'report.json')];
    const run = otoc(modelPath, '--data', samples, '--epochs', '3', '--batch-size', '32', '--target-sparsity', '0.5', '-o', small, '--report', report);
    expect(run.stderr).not.toMatch(/^otoc: /m);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^mode: finetune \\(distillation is on, .*\\); lr ${String(MODE_DEFAULTS.finetune.lr).replace('.', '\\.')}$`, 'm'));
    expect(run.stdout).toMatch(/^distillation: teacher .*two-heads\.onnx; loss distillation alone \(no labels\); its outputs cached per sample$/m);
    expect(run.stdout).toMatch(/^ {2}'y' \[N, 4\]: logits: KL divergence at T = 2, ×T²$/m);
    expect(run.stdout).toMatch(/^ {2}'z' \[N, 1\]: MSE \/ teacher variance /m);
    expect(run.stdout).toMatch(/^distillation: {3}against .*two-heads\.onnx on 40 val samples \(distillation alone, T 2\)$/m);
    expect(run.stdout).toMatch(/^ {2}y +logits +\d+\.\d% +\d/m);
    expect(run.stdout).toMatch(/^ {2}z +values +\d/m);
    const r = JSON.parse(readFileSync(report, 'utf8'));
    validateJson('report.schema.json', r);
    expect(r.training.mode).toBe('finetune');
    expect(r.equivalence.equivalent).toBe(true);
    expect(r.distillation.outputs).toHaveLength(2);
  });

  it('refuses, in one line, options that do not fit', () => {
    const modelPath = join(dir, 'two-heads.onnx');
    writeModel(twoHeads(), modelPath);
    const bad = otoc(modelPath, '--data', 'random:50', '--mse-outputs', 'w', '-o', join(dir, 'x.onnx'));
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("otoc: --mse-outputs names 'w', which is not a model output (outputs: y, z)");
    const trainAlone = otoc('train', modelPath, '--data', 'random:50', '-o', join(dir, 'x.onnx'));
    expect(trainAlone.status).toBe(2);
    expect(trainAlone.stderr.trim()).toBe('otoc: the data has no labels, so training distills: it needs a --teacher model to train toward');
    writeFileSync(join(dir, 'not-onnx.onnx'), 'nothing');
    const teacher = otoc(modelPath, '--data', 'random:50', '--teacher', join(dir, 'not-onnx.onnx'), '-o', join(dir, 'x.onnx'));
    expect(teacher.status).toBe(2);
    expect(teacher.stderr.trim()).toMatch(/^otoc: .*not-onnx\.onnx: onnxruntime cannot load the model/);
  });
});
