import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account } from '../passes/accounting.js';
import { inferShapes } from '../passes/infer-shapes.js';
import { inspectModel } from '../src/cli/inspect.js';
import { validateJson } from '../src/io/json-schema.js';
import { readModel } from '../src/onnx/read.js';
import { ensureBuilt, otoc, writeEditedModel } from './cli.js';
import { corpusManifest, corpusModel } from './paths.js';

const RESNET18 = corpusModel('resnet18');
const workDir = mkdtempSync(join(tmpdir(), 'otoc-inspect-'));

beforeAll(ensureBuilt);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('accounting', () => {
  it('counts resnet18 (1×3×64×64, 10 classes) at 11,176,842 parameters and about 148.05 M MACs', () => {
    const report = inspectModel(RESNET18);
    expect(report.parameters.learnable).toBe(11_176_842);
    expect(report.parameters.buffers).toBe(0);
    expect(Math.abs(report.macs.total - 148.05e6) / 148.05e6).toBeLessThan(1e-3);
    expect(report.macs.complete).toBe(true);
  });

  // In the corpus every initializer is a parameter or a BatchNorm statistic.
  it.each(corpusManifest().filter((e) => e.initializer_elements_onnx !== undefined))(
    '$name: parameters + buffers = the initializer elements of the manifest',
    (entry) => {
      const model = readModel(corpusModel(entry.name));
      const a = account(model, inferShapes(model));
      expect(a.parameters + a.buffers).toBe(entry.initializer_elements_onnx);
      expect(a.otherInitializerElements).toBe(0);
      expect(a.buffers > 0).toBe('BatchNormalization' in entry.op_types);
      expect(a.nodeMacs.every((m) => m.macs !== undefined)).toBe(true);
    },
  );
});

describe('otoc inspect', () => {
  it('prints a report with the parameter count, MAC total and its convention', () => {
    const run = otoc('inspect', RESNET18);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/parameters: +11,176,842 \(11\.18 M\)/);
    expect(run.stdout).toMatch(/total MACs: +148,050,944 \(148\.05 M\)/);
    expect(run.stdout).toContain('Conv = N·Cout·Hout·Wout·(Cin/group)·kh·kw');
    expect(run.stdout).toMatch(/input +float32 +\[1, 3, 64, 64\]/);
  });

  it('prints JSON that matches schemas/inspect.schema.json', () => {
    const run = otoc('inspect', corpusModel('bn_preserve'), '--json');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    validateJson('inspect.schema.json', report);
    expect(report.parameters.buffers).toBeGreaterThan(0);
    expect(report.opTypes.BatchNormalization).toBe(6);
    expect(report.macs.nodes).toHaveLength(report.nodeCount);
  });

  it('reports an op it does not know as unknown shapes and unknown MACs, without failing', () => {
    const model = writeEditedModel(RESNET18, join(workDir, 'mystery.onnx'), (m) => {
      const relu = m.graph.nodes.find((n) => n.opType === 'Relu')!;
      relu.opType = 'Mystery';
      relu.domain = 'example.custom';
      m.opsetImports.push({ domain: 'example.custom', version: 1 });
    });
    const run = otoc('inspect', model, '--json');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    validateJson('inspect.schema.json', report);
    expect(report.opTypes['example.custom:Mystery']).toBe(1);
    expect(report.macs.complete).toBe(false);
    expect(report.outputs[0].shape).toEqual([1, 10]); // declared, since inference cannot reach it
    const mystery = report.macs.nodes.find((n: { opType: string }) => n.opType === 'Mystery');
    expect(mystery).toMatchObject({ macs: null, outputShape: null });
  });

  it('names the file and the problem in one line when the model is missing', () => {
    const run = otoc('inspect', join(workDir, 'missing.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([`otoc: ${join(workDir, 'missing.onnx')}: file not found`]);
  });
});

describe('validateJson', () => {
  it('lists every violation with its JSON pointer', () => {
    expect(() => validateJson('inspect.schema.json', { file: 3 })).toThrow(/inspect\.schema\.json: .*\/file must be string/);
  });
});
