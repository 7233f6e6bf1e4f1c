/** PEMN's plan in the pipeline: the packed result, its report section, and --resume continuing exactly. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type DataSplits } from '../src/data/index.js';
import { isNumeric } from '../src/ir/tensor.js';
import type { MethodPlugin } from '../src/methods/method.js';
import { pemn, type PemnSettings } from '../src/methods/pemn/index.js';
import { decodeModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { PipelineContext, type PipelineInput, type RunControl } from '../src/pipeline/plan.js';
import type { CompressionResult } from '../src/pipeline/report.js';
import { stages } from '../src/pipeline/stages.js';
import { accuracy } from '../src/runtime/evaluate.js';
import { createSession } from '../src/runtime/ort.js';
import { initBackend } from '../src/tfjs/backend.js';
import { BASE_DEFAULTS, type BaseOptions } from '../src/train/optimizer.js';
import { smallCnn, smallCnnInput } from './pipeline-input.js';

const ADAMW: BaseOptions = { ...BASE_DEFAULTS, kind: 'adamw', weightDecay: 5e-4 };
const dir = mkdtempSync(join(tmpdir(), 'otoc-pemn-pipeline-'));
const denseFile = join(dir, 'dense.onnx');
let data: DataSplits;

const SETTINGS: PemnSettings = { base: ADAMW, seed: 2, prototype: 'rp', ratio: 0.01, keep: 0.5, layerScale: true, denseBaseline: { file: denseFile } };

beforeAll(async () => {
  await initBackend('wasm');
  data = await loadDataset('fashion-mnist', { valSplit: 10, limit: 256 });
  writeModel(smallCnn(), denseFile);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(): PipelineInput {
  return smallCnnInput(data, { plugin: pemn as MethodPlugin, settings: SETTINGS }, ADAMW, 0.01);
}

/** Runs PEMN's plan; with `stopAt`, aborts training after that many steps. */
async function run(control: RunControl, stopAt?: number): Promise<{ finished: boolean; packed?: Uint8Array; report?: CompressionResult }> {
  const abort = new AbortController();
  const ctx = new PipelineContext(input(), { ...control, signal: abort.signal, observer: { training: { onStep: (r) => r.step === stopAt && abort.abort() } } });
  const finished = await ctx.run(pemn.plan!(SETTINGS, stages()));
  return { finished, packed: ctx.small, report: ctx.results.report as CompressionResult | undefined };
}

describe("PEMN's plan", () => {
  let straight: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    straight = await run({});
  });

  it('packs, verifies at 1e-5 and reports its own section, with the dense baseline given as a file', async () => {
    const r = straight.report!;
    expect(straight.finished).toBe(true);
    expect(r.equivalence).toMatchObject({ equivalent: true, maxAbsDiff: 0, atol: 1e-5, rtol: 1e-5 });
    expect(r.small.fileBytes).toBe(straight.packed!.byteLength);
    expect(r.method).toMatchObject({ name: 'pemn', prototype: { strategy: 'rp', length: 185, ratio: 0.01, layerScale: true }, keep: 0.5, maskedLayers: 4 });
    const untrained = await accuracy(await createSession(denseFile), input().evaluation!.samples);
    expect(r.method.denseBaseline).toEqual({ source: 'file', file: denseFile, accuracy: untrained });
  });

  it('resumes a run stopped in its second epoch to the uninterrupted packed file', async () => {
    const checkpoint = { dir: join(dir, 'ckpt'), everyEpoch: true, meta: { run: 'pemn' }, resume: false };
    const stopped = await run({ checkpoint }, 11);
    expect(stopped.finished).toBe(false);
    const resumed = await run({ checkpoint: { ...checkpoint, resume: true } });
    expect(resumed.finished).toBe(true);
    const [a, b] = [decodeModel(straight.packed!).graph, decodeModel(resumed.packed!).graph];
    expect(b.nodes.map((n) => n.opType)).toEqual(a.nodes.map((n) => n.opType));
    expect(b.initializers.map((v) => v.name)).toEqual(a.initializers.map((v) => v.name));
    for (const v of a.initializers) {
      const [x, y] = [v.constant!, b.lookup(v.name)!.constant!];
      if (!isNumeric(x) || !isNumeric(y)) throw new Error(`${v.name} is not numeric`);
      // BatchNorm running statistics within float rounding (wasm reductions, pipeline.test.ts); everything else bit for bit: masks, prototype, biases, BN affine.
      if (!v.name.includes('running_')) expect(y.data, v.name).toEqual(x.data);
      else {
        const [p, q] = [x.data as Float32Array, y.data as Float32Array];
        const scale = Math.max(...p.map(Math.abs));
        expect(Math.max(...p.map((pi, i) => Math.abs(pi - q[i]))), v.name).toBeLessThanOrEqual(1e-6 * scale);
      }
    }
  });
});
