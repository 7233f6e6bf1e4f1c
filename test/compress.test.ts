/** One-shot compression end to end: DHSPG on a tiny model and data subset, prune, verify, report. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateJson } from '../src/io/json-schema.js';
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
