import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataType } from '../src/ir/dtype.js';
import { makeTensor, type Tensor } from '../src/ir/tensor.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { readModel } from '../src/onnx/read.js';
import { DEFAULT_TOLERANCE, compareOutputs } from '../src/runtime/compare-outputs.js';
import { createSession, readTestTensors, runSession } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { corpusManifest, corpusModel, corpusTestSet } from './paths.js';

/*
 * The mirror in eval mode computes what onnxruntime computes, for every corpus model: on the
 * stored input, and on a batch of three different samples, which onnxruntime runs one by one
 * (the files fix the batch to 1).
 */

const MODELS = corpusManifest();

beforeAll(async () => {
  await initBackend('wasm');
});

/** Three different samples from the stored one: itself, scaled and negated, and modulated. */
function samples(stored: Tensor): Tensor[] {
  const x = stored.data as Float32Array;
  const variants = [x, x.map((v) => -0.5 * v), x.map((v, i) => v * Math.cos(i))];
  return variants.map((data, i) => makeTensor(`sample${i}`, DataType.FLOAT, stored.dims, data));
}

/** Sample `index` of a batched mirror output as an IR tensor with a batch of 1. */
function sampleOf(output: tf.Tensor, index: number): Tensor {
  const row = tf.tidy(() => tf.slice(output, index, 1));
  const data = row.dataSync() as Float32Array;
  row.dispose();
  return makeTensor('mirror', DataType.FLOAT, [1, ...output.shape.slice(1)], data);
}

describe('mirror (eval) against onnxruntime on the corpus', () => {
  it.each(MODELS.map((e) => e.name))('%s: stored input and a batch of 3', async (name) => {
    const model = readModel(corpusModel(name));
    const inputName = model.graph.inputs[0].name;
    const session = await createSession(corpusModel(name));
    const [stored] = readTestTensors(corpusTestSet(name), 'input');
    const inputs = samples(stored);
    const references: Tensor[] = [];
    for (const x of inputs) references.push((await runSession(session, { [inputName]: x }))[0]);

    const before = tf.memory().numTensors;
    const mirror = buildMirror(model);
    try {
      const single = tf.tidy(() => mirror.forward({ [inputName]: tf.tensor(stored.data as Float32Array, stored.dims) }, { training: false })[0]);
      const batch = tf.tidy(() => {
        const x = tf.concat(inputs.map((s) => tf.tensor(s.data as Float32Array, s.dims)));
        return mirror.forward({ [inputName]: x }, { training: false })[0];
      });
      const comparisons = [
        { what: 'stored input', result: compareOutputs(references[0], sampleOf(single, 0), DEFAULT_TOLERANCE) },
        ...references.map((ref, i) => ({ what: `batch sample ${i}`, result: compareOutputs(ref, sampleOf(batch, i), DEFAULT_TOLERANCE) })),
      ];
      tf.dispose([single, batch]);
      for (const { what, result } of comparisons) expect(result.pass, `${what}: ${result.reason}`).toBe(true);
    } finally {
      mirror.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
