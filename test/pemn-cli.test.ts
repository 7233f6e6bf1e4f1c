/** `otoc compress --method pemn` end to end, on a tiny data subset and two threads; what the other commands do with a packed file. */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReport, type CompressionReport } from '../src/cli/compress.js';
import { schemaViolations, validateJson } from '../src/io/json-schema.js';
import { ensureBuilt, otoc, otocAsync } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'otoc-pemn-'));
const model = join(dir, 'cnn.onnx');
const packed = join(dir, 'packed.onnx');
const dense = join(dir, 'dense.onnx');
const reportPath = join(dir, 'report.json');

describe('otoc compress --method pemn', () => {
  let report: Record<string, any>;
  beforeAll(async () => {
    ensureBuilt();
    expect(otoc('zoo', 'small-cnn', '-o', model).status).toBe(0);
    const run = await otocAsync(
      'compress', model, '--method', 'pemn', '--prototype', 'rp', '--ratio', '1e-3', '--keep', '0.5', '--epochs', '1', '--limit', '640',
      '--val-split', '20', '--batch-size', '16', '--threads', '2', '--dense-baseline', 'train',
      '-o', packed, '--materialize', dense, '--report', reportPath, '--json',
    );
    expect(run.stderr).not.toMatch(/^otoc: /m);
    expect(run.status).toBe(0);
    report = JSON.parse(run.stdout);
  });

  it('writes a packed file that onnxruntime finds equal to the materialized dense model', async () => {
    validateJson('report.schema.json', report);
    const { bitsPerWeight: _, ...withoutBits } = report.method;
    expect(schemaViolations('report.schema.json', { ...report, method: withoutBits })).toContain("/method must have required property 'bitsPerWeight'");
    expect(JSON.parse(readFileSync(reportPath, 'utf8'))).toEqual(report);
    expect(report.equivalence).toMatchObject({ equivalent: true, atol: 1e-5, rtol: 1e-5 });
    const verify = await otocAsync('verify', dense, packed, '--atol', '1e-5', '--rtol', '1e-5', '--random', '3');
    expect(verify.status).toBe(0);
    expect(report.small.fileBytes).toBe(statSync(packed).size);
    expect(report.full.fileBytes).toBe(statSync(dense).size);
    expect(report.small.fileBytes * 5).toBeLessThan(report.full.fileBytes);
    expect(report.small.parameters).toBe(report.full.parameters);
    expect(report.groupSparsity).toBeUndefined();
    expect(report.budget).toBeUndefined();
  });

  it('reports the packed model\'s accuracy, its bits per weight, the prototype, and the dense baseline trained the same way', () => {
    expect(report.accuracy.small).toBe(report.accuracy.full);
    expect(report.accuracy.small).toBeGreaterThan(0.2);
    const m = report.method;
    expect(m.settings).toMatchObject({ prototype: 'rp', ratio: 1e-3, keep: 0.5, layerScale: true, base: { kind: 'adamw' } });
    expect(m.prototype).toEqual({ strategy: 'rp', length: Math.floor(1e-3 * 64 * 32 * 9) + 1, ratio: 1e-3, layerScale: true });
    expect(m.bitsPerWeight).toBeCloseTo((8 * report.small.fileBytes) / m.maskedWeights, 9);
    expect(m.maskedLayers).toBe(4);
    expect(m.denseBaseline).toMatchObject({ source: 'trained', epochs: 1 });
    expect(m.denseBaseline.accuracy).toBeGreaterThan(0.2);
    expect(report.training).toMatchObject({ epochs: 1, optimizer: 'pemn-adamw' });
    const text = formatReport(report as CompressionReport);
    expect(text).toMatch(/\npemn: +prototype rp r=0\.001, 19 values, layer scales; keep 0\.5; 23,824 weights in 4 masked layers\n/);
    expect(text).toMatch(/\npacked file: +[\d,]+ bytes, \d\.\d{3} bits per weight, \d+\.\d× smaller than the dense file \([\d,]+ bytes\)\n/);
    expect(text).toMatch(/\ndense baseline: \d+\.\d% val accuracy \(trained 1 epochs with SGD\); packed \d+\.\d% \(-?\d+\.\d\d points\)/);
    expect(text).not.toContain('group sparsity');
  });

  it('inspect counts the rebuilt weights as parameters and reports bits per weight', async () => {
    const [p, d] = [JSON.parse((await otocAsync('inspect', packed, '--json')).stdout), JSON.parse((await otocAsync('inspect', dense, '--json')).stdout)];
    validateJson('inspect.schema.json', p);
    expect(p.parameters.learnable).toBe(d.parameters.learnable);
    expect(p.parameters.rebuiltWeights).toBe(report.method.maskedWeights);
    expect(p.parameters.bitsPerWeight).toBeCloseTo(report.method.bitsPerWeight, 9);
    expect(d.parameters.rebuiltWeights).toBeUndefined();
    expect(p.packed).toEqual({ method: 'pemn', prototype: 'rp', prototypeLength: 19, keep: 0.5, maskedLayers: 4, maskedWeights: 23_824 });
    expect(d.packed).toBeUndefined();
    expect((await otocAsync('inspect', packed)).stdout).toMatch(/of which 23,824 weights rebuilt at load time .*: \d\.\d{3} bits per weight/);
  });

  it('groups, prune and training refuse a packed file in one line', async () => {
    for (const args of [['groups', packed], ['prune', packed, '-o', join(dir, 'x.onnx')], ['train', packed, '-o', join(dir, 'x.onnx')]]) {
      const r = await otocAsync(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^otoc: .*packed\.onnx: a packed PEMN model .* needs the dense model, which otoc compress --method pemn writes with --materialize/);
    }
  });

  it('refuses options that do not fit, naming them', async () => {
    const bad = async (extra: string[], message: string) => {
      const r = await otocAsync('compress', model, '-o', join(dir, 'x.onnx'), ...extra);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`otoc: ${message}`);
    };
    await bad(['--method', 'pemn', '--prototype', 'mp', '--ratio', '0.1'], '--ratio applies to --prototype rp, not mp');
    await bad(['--method', 'pemn', '--keep', '0'], '--keep must be in (0, 1], got 0');
    await bad(['--method', 'pemn', '--ratio', '2'], '--ratio must be in (0, 1], got 2');
    await bad(['--keep', '0.5'], '--keep is an option of --method pemn, not of --method dhspg');
  });
});
