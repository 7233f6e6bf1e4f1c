/**
 * Weights in Constant nodes (paddle2onnx at opsets 9–11 writes them so): counted as parameters by
 * inspect, groups and prune, trained by the mirror like initializers, and written as initializers.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { inspectModel } from '../src/cli/inspect.js';
import { setAttributes } from '../src/ir/build.js';
import { isFloatType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { elementCount, floatData } from '../src/ir/tensor.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { analyzeModel } from '../src/pipeline/analyze.js';
import { groupsReport } from '../src/groups-report/report.js';
import { initBackend } from '../src/tfjs/backend.js';
import { account } from '../passes/accounting.js';
import { ensureBuilt, otoc } from './cli.js';
import { compareWithOrt, randomFeeds } from './mirror-check.js';

let dir: string;
const path = (name: string) => join(dir, name);

/** The small CNN of the zoo (convs, BatchNorms, a Gemm), weights as initializers. */
function cnn(): Model {
  return zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });
}

/** The same model with every float initializer of more than one element moved into a Constant node of the same output. */
function inConstantNodes(model: Model): Model {
  const graph = model.graph;
  for (const v of [...graph.initializers]) {
    const tensor = v.constant!;
    if (!isFloatType(tensor.dataType) || elementCount(tensor.dims) <= 1) continue;
    v.constant = undefined;
    graph.initializers = graph.initializers.filter((i) => i !== v);
    setAttributes(graph.addNode('Constant', [], [v], 0), { value: { type: 'tensor', value: tensor } });
  }
  return model;
}

/** Float tensors of more than one element held in Constant nodes. */
const weightConstants = (model: Model) =>
  model.graph.nodes.filter((n) => {
    const a = n.opType === 'Constant' ? n.attributes.get('value') : undefined;
    return a?.type === 'tensor' && isFloatType(a.value.dataType) && elementCount(a.value.dims) > 1;
  });

beforeAll(async () => {
  ensureBuilt();
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'otoc-constants-'));
  writeModel(cnn(), path('initializers.onnx'));
  writeModel(inConstantNodes(cnn()), path('constants.onnx'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weights in Constant nodes', () => {
  it('are the whole model: no initializer is left', () => {
    const model = readModel(path('constants.onnx'));
    expect(model.graph.initializers.filter((v) => isFloatType(v.constant!.dataType) && elementCount(v.constant!.dims) > 1)).toEqual([]);
    expect(weightConstants(model).length).toBeGreaterThan(5);
  });

  it('are counted by inspect as the same parameters and buffers as initializers', () => {
    const [a, b] = [inspectModel(path('initializers.onnx')), inspectModel(path('constants.onnx'))];
    expect(a.parameters.learnable).toBeGreaterThan(20_000);
    expect(b.parameters).toEqual(a.parameters);
    expect(b.macs.total).toBe(a.macs.total);
    expect(otoc('inspect', path('constants.onnx')).stdout).toMatch(new RegExp(`parameters: +${a.parameters.learnable.toLocaleString('en-US')} `));
  });

  it('are counted and grouped by groups as initializers are', () => {
    const report = (file: string) => {
      const { model, groups, facts } = analyzeModel(readModel(path(file)));
      return groupsReport(file, groups, account(model, facts)).totals;
    };
    expect(report('constants.onnx')).toEqual(report('initializers.onnx'));
  });

  it('are trained by the mirror and written back as initializers of the same names', () => {
    const model = readModel(path('constants.onnx'));
    const reference = buildMirror(cnn());
    const mirror = buildMirror(model);
    try {
      expect([...mirror.params.keys()].map((v) => v.name).sort()).toEqual([...reference.params.keys()].map((v) => v.name).sort());
      expect([...mirror.buffers.keys()].map((v) => v.name).sort()).toEqual([...reference.buffers.keys()].map((v) => v.name).sort());
      const input = tf.randomNormal([4, 1, 28, 28], 0, 1, 'float32', 1);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(mirror.forward({ input }, { training: true })[0])) as tf.Scalar);
      expect(Object.keys(grads)).toHaveLength(mirror.params.size);
      for (const variable of mirror.params.values()) variable.assign(tf.sub(variable, tf.mul(grads[variable.name], 0.1)));
      tf.dispose([value, input, ...Object.values(grads)]);
      mirror.exportTo(model);
      expect(weightConstants(model)).toEqual([]);
      for (const [v, variable] of mirror.params) {
        const written = model.graph.lookup(v.name)!;
        expect(written.constant, v.name).toBeDefined();
        expect(Array.from(floatData(written.constant!))).toEqual(Array.from(variable.dataSync()));
      }
    } finally {
      mirror.dispose();
      reference.dispose();
    }
  });

  it('compute in the mirror what onnxruntime computes', async () => {
    for (const c of await compareWithOrt(readModel(path('constants.onnx')), randomFeeds({ input: [2, 1, 28, 28] }))) {
      expect(c.pass, c.reason).toBe(true);
    }
  });

  it('come out of otoc train and otoc prune as initializers, trained and pruned', () => {
    const trained = path('trained.onnx');
    const run = otoc('train', path('constants.onnx'), '--limit', '256', '--val-split', '0', '--epochs', '1', '--batch-size', '64', '--backend', 'wasm', '-o', trained);
    expect(run.stderr).not.toMatch(/otoc:/);
    expect(run.status).toBe(0);
    const model = readModel(trained);
    expect(weightConstants(model)).toEqual([]);
    const original = readModel(path('initializers.onnx'));
    const conv = original.graph.nodes.find((n) => n.opType === 'Conv')!.inputs[1]!;
    expect(Array.from(floatData(model.graph.lookup(conv.name)!.constant!))).not.toEqual(Array.from(floatData(conv.constant!)));

    const full = path('full.onnx');
    const small = path('small.onnx');
    const prune = otoc('prune', path('constants.onnx'), '--random-zero', '0.5', '--emit-full', full, '-o', small, '--json');
    expect(prune.status).toBe(0);
    const summary = JSON.parse(prune.stdout);
    expect(summary.parameters.before).toBe(inspectModel(path('initializers.onnx')).parameters.learnable);
    expect(summary.parameters.after).toBeLessThan(summary.parameters.before);
    expect(weightConstants(readModel(small))).toEqual([]);
    expect(otoc('verify', full, small, '--random', '3').status).toBe(0);
  });
});
