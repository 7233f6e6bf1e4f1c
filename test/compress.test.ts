/** One-shot compression end to end: DHSPG on a tiny model and data subset, prune, verify, report. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatReport, type CompressionReport } from '../src/cli/compress.js';
import { collapseWarnings } from '../src/pipeline/report.js';
import { validateJson } from '../src/io/json-schema.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'otoc-compress-'));
const model = join(dir, 'cnn.onnx');
const small = join(dir, 'small.onnx');
const full = join(dir, 'full.onnx');
const reportPath = join(dir, 'report.json');

describe('otoc compress', () => {
  let report: Record<string, any>;
  beforeAll(() => {
    ensureBuilt();
    expect(otoc('zoo', 'small-cnn', '-o', model).status).toBe(0);
    const run = otoc(
      'compress', model, '--epochs', '2', '--limit', '1000', '--batch-size', '32', '--val-split', '20',
      '--start-pruning', '0.5', '--target-sparsity', '0.5', '--lr', '0.05',
      '-o', small, '--keep-full', full, '--report', reportPath, '--json',
    );
    expect(run.stderr).not.toMatch(/^otoc: /m);
    expect(run.status).toBe(0);
    report = JSON.parse(run.stdout);
  });

  it('reaches the target group sparsity without passing the upper bound', () => {
    const g = report.groupSparsity;
    expect(g.reached).toBeGreaterThanOrEqual(0.5);
    expect(g.reached).toBeLessThanOrEqual(0.55);
    expect(g.removedGroups).toBeGreaterThan(0);
    expect(g.removedDead).toBeGreaterThanOrEqual(0);
    // A pruning method's report always carries its budget (a group sparsity here), PEMN's never.
    expect(report.budget).toMatchObject({ kind: 'groups', asked: 0.5 });
    expect(report.budget.reached).toBeGreaterThan(0);
  });

  it('writes a smaller model that is equivalent to the trained one', () => {
    expect(report.equivalence.equivalent).toBe(true);
    expect(report.small.parameters).toBeLessThan(report.full.parameters);
    expect(report.small.macs).toBeLessThan(report.full.macs);
    expect(report.accuracy.small).toBeCloseTo(report.accuracy.full, 2);
    expect(otoc('verify', full, small, '--random', '3').status).toBe(0);
  });

  it('writes a report that follows the schema', () => {
    validateJson('report.schema.json', report);
    expect(JSON.parse(readFileSync(reportPath, 'utf8'))).toEqual(report);
  });

  it('warns, in the table and the JSON, when the small model is near chance accuracy', () => {
    expect(report.warnings).toBeUndefined();
    const collapsed = { split: 'val', samples: 200, full: 0.1, small: 0.1 } as const;
    expect(collapseWarnings({ ...collapsed, small: 0.16 }, 10)).toEqual([]);
    const warnings = collapseWarnings(collapsed, 10);
    expect(warnings).toEqual([expect.stringMatching(/^the small model's val accuracy 10\.0% is near chance \(10\.0% for 10 classes\)/)]);
    const warned: CompressionReport = { ...(report as CompressionReport), accuracy: collapsed, warnings };
    validateJson('report.schema.json', warned);
    expect(formatReport(warned)).toMatch(/\nwarning: the small model's val accuracy 10\.0% is near chance .*--deadline/);
  });

  it('says when training moves to the small network, unless --no-shrink', () => {
    const quick = ['--epochs', '2', '--limit', '300', '--batch-size', '32', '--val-split', '10', '--start-pruning', '2steps', '--target-sparsity', '0.5'];
    const line = /^step (\d+): the zero groups are settled; training goes on without them \(\d+ groups removed, [\d,]+ of 24,058 parameters\)$/m;
    const log = join(dir, 'quick.jsonl');
    const shrinking = otoc('compress', model, ...quick, '--log', log, '-o', join(dir, 'quick.onnx'));
    expect(shrinking.status).toBe(0);
    const step = Number(line.exec(shrinking.stdout)?.[1]);
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const record of records) validateJson('training-log.schema.json', record);
    expect(records.filter((r) => r.type === 'shrink')).toEqual([expect.objectContaining({ step, fullParameters: 24_058 })]);
    const whole = otoc('compress', model, ...quick, '--no-shrink', '-o', join(dir, 'quick-full.onnx'));
    expect(whole.status).toBe(0);
    expect(whole.stdout).not.toMatch(/settled/);
    expect(whole.stdout).toMatch(/equivalence: +equivalent/);
  });

  it('compresses a model whose weights are in an external data file', () => {
    const external = readModel(model);
    for (const v of external.graph.initializers) v.constant!.storage = { kind: 'external', location: 'weights.bin', props: [] };
    const path = join(dir, 'external.onnx');
    writeModel(external, path);
    expect(existsSync(`${path}.data`)).toBe(true);
    const quick = ['--epochs', '1', '--limit', '300', '--batch-size', '32', '--val-split', '10', '--start-pruning', '2steps', '--target-sparsity', '0.5'];
    const run = otoc('compress', path, ...quick, '-o', join(dir, 'external-small.onnx'));
    expect(run.stderr).not.toMatch(/^otoc: /m);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/equivalence: +equivalent/);
  });

  it('the one-liner prunes the zero groups of the trained full model, and says so when there are none', () => {
    const again = join(dir, 'again.onnx');
    const pruned = otoc(full, '-o', again);
    expect(pruned.status).toBe(0);
    expect(pruned.stdout).toContain(`removed ${report.groupSparsity.removedGroups} of`);
    const none = otoc(small, '-o', join(dir, 'same.onnx'));
    expect(none.status).toBe(0);
    expect(none.stdout).toMatch(/no group is exactly zero: .*--data/);
  });
});
