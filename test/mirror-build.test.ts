import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { float, setAttributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model } from '../src/ir/graph.js';
import { floatData, makeTensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { readModel } from '../src/onnx/read.js';
import { initBackend } from '../src/tfjs/backend.js';
import { corpusModel } from './paths.js';
import { OpModel, attr } from './tiny-models.js';

/* What the mirror takes as parameters, how it treats the batch, and what it refuses. */

beforeAll(async () => {
  await initBackend('wasm');
});

/** x [1, 4, 6] → Reshape(target) → y, as exporters write a model traced with batch 1. */
function reshapeModel(target: number[]): Model {
  const graph = new Graph();
  const x = graph.ensureValue('x');
  x.type = tensorType(DataType.FLOAT, [1, 4, 6]);
  const shape = graph.ensureValue('shape');
  graph.addInitializer(shape, makeTensor('shape', DataType.INT64, [target.length], BigInt64Array.from(target.map(BigInt))));
  const y = graph.ensureValue('y');
  graph.inputs.push(x);
  graph.outputs.push(y);
  graph.addNode('Reshape', [x, shape], [y]).name = 'flatten';
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

describe('the batch dimension', () => {
  const batchOf = (n: number) => tf.tensor(Float32Array.from({ length: n * 24 }, (_, i) => i), [n, 4, 6]);

  it('passes through a Reshape whose target starts with the file batch of 1', () => {
    const mirror = buildMirror(reshapeModel([1, -1]));
    const y = tf.tidy(() => mirror.forward({ x: batchOf(3) }, { training: false })[0]);
    expect(y.shape).toEqual([3, 24]);
    expect(Array.from(y.dataSync())).toEqual(Array.from({ length: 72 }, (_, i) => i));
    tf.dispose(y);
    mirror.dispose();
  });

  it('is pinned by a Reshape that mixes it with other axes: other sizes are refused', () => {
    const mirror = buildMirror(reshapeModel([2, 12]));
    const one = tf.tidy(() => mirror.forward({ x: batchOf(1) }, { training: false })[0]);
    expect(one.shape).toEqual([2, 12]);
    expect(() => tf.tidy(() => mirror.forward({ x: batchOf(3) }, { training: false }))).toThrow(/flatten.*batch of 3/);
    tf.dispose(one);
    mirror.dispose();
  });
});

describe('constants', () => {
  it('outlive the tidy of the pass that first reads them', () => {
    const graph = new Graph();
    const x = graph.ensureValue('x');
    x.type = tensorType(DataType.FLOAT, [1, 3]);
    const c = graph.ensureValue('c');
    graph.addInitializer(c, makeTensor('c', DataType.FLOAT, [3], Float32Array.of(1, 2, 4)));
    const y = graph.ensureValue('y');
    graph.inputs.push(x);
    graph.outputs.push(y);
    graph.addNode('Div', [x, c], [y]);
    const model = new Model(graph);
    model.opsetImports = [{ domain: '', version: 13 }];
    const mirror = buildMirror(model);
    expect(mirror.params.size).toBe(0);
    const run = () => tf.tidy(() => Array.from(mirror.forward({ x: tf.ones([2, 3]) }, { training: false })[0].dataSync()));
    expect(run()).toEqual([1, 0.5, 0.25, 1, 0.5, 0.25]);
    expect(run()).toEqual([1, 0.5, 0.25, 1, 0.5, 0.25]);
    mirror.dispose();
  });
});

describe('parameters', () => {
  it('are the float weight initializers, in ONNX dims; BatchNorm statistics are buffers', () => {
    const model = readModel(corpusModel('fmnist_vgg'));
    const mirror = buildMirror(model);
    const floats = model.graph.initializers.filter((v) => v.constant!.dataType === DataType.FLOAT);
    expect([...mirror.params.keys(), ...mirror.buffers.keys()].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      floats.sort((a, b) => a.name.localeCompare(b.name)),
    );
    for (const [v, variable] of mirror.params) {
      expect(variable.trainable).toBe(true);
      expect(variable.shape).toEqual(v.constant!.dims);
    }
    for (const v of mirror.buffers.keys()) expect(v.name).toMatch(/running_(mean|var)$/);
    mirror.dispose();
  });

  it('go through the forward transform', () => {
    const model = readModel(corpusModel('fmnist_vgg'));
    const gemm = model.graph.nodes.find((n) => n.opType === 'Gemm')!;
    const [weight, bias] = [gemm.input(1)!, gemm.input(2)!];
    const mirror = buildMirror(model);
    const y = tf.tidy(() =>
      mirror.forward({ input: tf.ones([2, 1, 28, 28]) }, { training: false, transform: (p, w) => (p === weight ? tf.zerosLike(w) : w) })[0],
    );
    const b = Array.from(floatData(bias.constant!));
    expect(Array.from(y.dataSync())).toEqual([...b, ...b].map(Math.fround));
    tf.dispose(y);
    mirror.dispose();
  });

  it('are written back by exportTo, in the initializers’ types and dims', () => {
    const model = readModel(corpusModel('fmnist_vgg'));
    const mirror = buildMirror(model);
    const [first, variable] = [...mirror.params][0];
    variable.assign(tf.fill(variable.shape, 0.25));
    const target = readModel(corpusModel('fmnist_vgg'));
    mirror.exportTo(target);
    const written = target.graph.lookup(first.name)!.constant!;
    expect(written.dims).toEqual(first.constant!.dims);
    expect(written.dataType).toBe(DataType.FLOAT);
    expect(Array.from(floatData(written)).every((x) => x === 0.25)).toBe(true);
    mirror.dispose();
  });
});

describe('refusals', () => {
  it('names the node of an op it does not implement', () => {
    const m = new OpModel(13);
    const y = m.node('DepthToSpace', [m.input('x', [1, 4, 2, 2])], { blocksize: attr.int(2) });
    expect(() => buildMirror(m.finish(y))).toThrow(OtocError);
    expect(() => buildMirror(m.model)).toThrow(/^node DepthToSpace 'depthtospace1': unsupported by the tfjs mirror: operator DepthToSpace$/);
  });

  it('refuses a recurrent layer it cannot train in one line naming the node', () => {
    const model = readModel(corpusModel('lstm_small'));
    setAttributes(model.graph.nodes.find((n) => n.opType === 'LSTM')!, { clip: float(3) });
    expect(() => buildMirror(model)).toThrow(/^node LSTM '\/lstm\/LSTM': unsupported by the tfjs mirror: attribute 'clip'$/);
  });

  it('refuses an attribute it does not know rather than ignore it', () => {
    const model = readModel(corpusModel('fmnist_vgg'));
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv')!;
    setAttributes(conv, { future_option: 1 });
    expect(() => buildMirror(model)).toThrow(/unsupported by the tfjs mirror: attribute 'future_option'/);
  });
});
