import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { DataType, isFloatType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import type { Tensor } from '../src/ir/tensor.js';
import { buildMirror } from '../src/mirror/mirror.js';
import { toTfjs } from '../src/mirror/tensors.js';
import { readModel } from '../src/onnx/read.js';
import { tfjsOpTypes } from '../src/mirror/ops/registry.js';
import { readTestTensors } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { TESTDATA, corpusManifest } from './paths.js';

/*
 * The ONNX node tests (libonnx-testdata) of every op the mirror implements, float32 data only.
 * A test belongs to the op its graph runs (Constant nodes aside), so tests of other ops that
 * share a name prefix (test_convtranspose_* for Conv) are not counted, and those ONNX names
 * otherwise (test_basic_conv_*, test_constant_pad) are. Each test data set is one of: a pass
 * (outputs within rtol 1e-3 / atol 1e-5 of the stored ones), refused (an "unsupported"
 * OtocError), or a failure (a wrong answer, or any other error), which fails the suite.
 */

const NODE_TESTS = join(TESTDATA, 'node');
const CORPUS_OPS = new Set(corpusManifest().flatMap((e) => Object.keys(e.op_types)));
const MIRROR_OPS = tfjsOpTypes();
const TOLERANCE = { rtol: 1e-3, atol: 1e-5 };

type Outcome = { kind: 'pass' } | { kind: 'unsupported' | 'fail'; why: string };

interface NodeTest {
  name: string;
  model: Model;
  dataSets: string[];
}

/** The float32 node tests per op: single-op graphs whose data input (the first one) is float32. */
function nodeTestsByOp(): Map<string, NodeTest[]> {
  const byOp = new Map<string, NodeTest[]>();
  if (!existsSync(NODE_TESTS)) return byOp;
  for (const name of readdirSync(NODE_TESTS).sort()) {
    const dir = join(NODE_TESTS, name);
    if (!existsSync(join(dir, 'model.onnx'))) continue;
    const model = readModel(join(dir, 'model.onnx'));
    const ops = new Set(model.graph.nodes.map((n) => n.opType));
    if (ops.size > 1) ops.delete('Constant');
    const types = [...model.graph.inputs, ...model.graph.outputs].map((v) => (v.type?.kind === 'tensor' ? v.type.elemType : undefined));
    const data = types[0];
    const float32 = data === DataType.FLOAT && types.every((t) => t === undefined || !isFloatType(t) || t === DataType.FLOAT);
    if (ops.size !== 1 || !float32 || model.graph.nodes.some((n) => n.domain !== '')) continue;
    const [op] = ops;
    const dataSets = readdirSync(dir).filter((f) => f.startsWith('test_data_set')).map((f) => join(dir, f));
    byOp.set(op, [...(byOp.get(op) ?? []), { name, model, dataSets }]);
  }
  return byOp;
}

/** The first element outside |got − expected| ≤ atol + rtol·|expected|, or of another shape; undefined when all fit. */
function mismatch(expected: Tensor, got: tf.Tensor): string | undefined {
  if (got.shape.join() !== expected.dims.join()) return `shape [${got.shape}] instead of [${expected.dims}]`;
  const want = Array.from(expected.data as ArrayLike<number | bigint>, Number);
  const have = Array.from(got.dataSync(), Number);
  const at = want.findIndex((w, i) => {
    const h = have[i];
    return !(Math.abs(h - w) <= TOLERANCE.atol + TOLERANCE.rtol * Math.abs(w) || (Number.isNaN(w) && Number.isNaN(h)) || h === w);
  });
  return at < 0 ? undefined : `element ${at}: ${have[at]} instead of ${want[at]}`;
}

function runNodeTest(test: NodeTest, dataSet: string): Outcome {
  try {
    const mirror = buildMirror(test.model);
    try {
      const inputs = readTestTensors(dataSet, 'input');
      const expected = readTestTensors(dataSet, 'output');
      const fed = test.model.graph.inputs.filter((v) => !v.constant);
      const problems = tf.tidy(() => {
        const outputs = mirror.forward(Object.fromEntries(fed.map((v, i) => [v.name, toTfjs(inputs[i])])), { training: false });
        return expected.map((e, i) => mismatch(e, outputs[i])).filter((p) => p !== undefined);
      });
      return problems.length ? { kind: 'fail', why: problems.join('; ') } : { kind: 'pass' };
    } finally {
      mirror.dispose();
    }
  } catch (e) {
    const refused = e instanceof OtocError && e.message.includes('unsupported');
    return { kind: refused ? 'unsupported' : 'fail', why: e instanceof Error ? e.message : String(e) };
  }
}

const TESTS = nodeTestsByOp();
/** The tfjs backends the mirror trains on here: the counts are the same on each. */
const BACKENDS = ['wasm', 'cpu'] as const;
const counts = new Map<string, Record<Outcome['kind'], number>>();

afterAll(() => {
  const row = (label: string, c: Record<Outcome['kind'], number>) =>
    `  ${label.padEnd(22)} ${String(c.pass).padStart(4)} ${String(c.unsupported).padStart(12)} ${String(c.fail).padStart(5)}`;
  const table = (title: string, ops: string[]) => {
    const total = { pass: 0, unsupported: 0, fail: 0 };
    const rows = ops.map((op) => {
      const c = counts.get(op) ?? { pass: 0, unsupported: 0, fail: 0 };
      for (const k of ['pass', 'unsupported', 'fail'] as const) total[k] += c[k];
      return row(op, c);
    });
    return [title, `  ${'op'.padEnd(22)} pass  unsupported  fail`, ...rows, row('total', total)].join('\n');
  };
  const corpus = MIRROR_OPS.filter((op) => CORPUS_OPS.has(op)).sort();
  const others = MIRROR_OPS.filter((op) => !CORPUS_OPS.has(op) && counts.has(op)).sort();
  console.log(table(`ONNX node tests of the corpus ops (${BACKENDS.join(', ')} backends alike):`, corpus));
  console.log(table('ONNX node tests of the other ops the mirror implements:', others));
});

describe('mirror against the ONNX node tests', () => {
  it('has node tests to run', () => {
    expect(TESTS.size, `no ONNX node tests under ${NODE_TESTS}`).toBeGreaterThan(0);
  });

  it('implements every op of the corpus', () => {
    expect([...CORPUS_OPS].filter((op) => !MIRROR_OPS.includes(op))).toEqual([]);
  });

  describe.each(BACKENDS)('on %s', (backend) => {
    beforeAll(async () => {
      await initBackend(backend);
    });

    it.each(MIRROR_OPS.filter((op) => TESTS.has(op)).sort())('%s', (op) => {
      const c = { pass: 0, unsupported: 0, fail: 0 };
      const failures: string[] = [];
      for (const test of TESTS.get(op)!) {
        for (const dataSet of test.dataSets) {
          const outcome = runNodeTest(test, dataSet);
          c[outcome.kind]++;
          if (outcome.kind === 'fail') failures.push(`${test.name}: ${outcome.why}`);
        }
      }
      expect(failures).toEqual([]);
      const first = counts.get(op);
      if (first) expect(c, 'the same outcomes on every backend').toEqual(first);
      counts.set(op, c);
      // Each op of the corpus passes at least one test of its own.
      if (CORPUS_OPS.has(op)) expect(c.pass).toBeGreaterThan(0);
    });
  });
});
