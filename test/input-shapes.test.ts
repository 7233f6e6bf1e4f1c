/** `--shape name=1x3x640x640` on the commands that count or run a model with symbolic dims. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectModel } from '../src/cli/inspect.js';
import { validateJson } from '../src/io/json-schema.js';
import { parseShapeOverrides } from '../src/ir/input-shapes.js';
import { dimsToShape } from '../src/ir/types.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc } from './cli.js';
import { OpModel, attr } from './tiny-models.js';

let dir: string;
let detector: string;
const path = (name: string) => join(dir, name);

/** A fully convolutional net on images of any batch, height and width: every MAC is per pixel. */
function dynamicNet() {
  const m = new OpModel(13, 1);
  const x = m.input('images', ['batch', 3, 'height', 'width']);
  const conv = (input: ReturnType<OpModel['input']>, cin: number, cout: number, stride: number) =>
    m.node('Conv', [input, m.weight(`w${cout}_${stride}`, [cout, cin, 3, 3], 0.3), m.weight(`b${cout}_${stride}`, [cout], 0.1)], {
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([stride, stride]),
    });
  const y = conv(m.node('Relu', [conv(x, 3, 8, 1)]), 8, 4, 2);
  return m.finish(m.node('Relu', [y]));
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'otoc-shapes-'));
  detector = path('detector.onnx');
  writeModel(dynamicNet(), detector);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const macsAt = (shape: string) => inspectModel(detector, readModel(detector), parseShapeOverrides([`images=${shape}`])).macs.total;

describe('--shape', () => {
  it('makes the MACs of a model with dynamic height and width proportional to H·W (and to the batch)', () => {
    const base = macsAt('1x3x32x32');
    expect(base).toBeGreaterThan(0);
    expect(macsAt('1x3x64x64')).toBe(4 * base);
    expect(macsAt('1x3x64x32')).toBe(2 * base);
    expect(macsAt('1x3x640x640')).toBe(400 * base);
    expect(macsAt('2x3x640x640')).toBe(800 * base);
  });

  it('makes inspect show the shapes that follow, and say once when a symbolic dim is left', () => {
    const given = otoc('inspect', detector, '--shape', 'images=1x3x640x640');
    expect(given.status).toBe(0);
    expect(given.stdout).toMatch(/images +float32 +\[1, 3, 640, 640\]/);
    expect(given.stdout).toMatch(/Conv +\[1, 4, 320, 320\]/);
    expect(given.stdout).not.toMatch(/symbolic dims taken as 1/);

    const bare = otoc('inspect', detector);
    expect(bare.stdout).toMatch(/images +float32 +\[batch, 3, height, width\]/);
    expect(bare.stdout.match(/symbolic dims taken as 1/g)).toHaveLength(1);
    expect(bare.stdout).toContain("note: symbolic dims taken as 1 in 'images' [batch, 3, height, width]; give their sizes with --shape images=<batch>x3x<height>x<width>");

    const json = JSON.parse(otoc('inspect', detector, '--json').stdout);
    validateJson('inspect.schema.json', json);
    expect(json.symbolicInputs).toEqual([{ input: 'images', shape: ['batch', 3, 'height', 'width'] }]);
  });

  it('makes groups count the MACs at the given size', () => {
    const run = otoc('groups', detector, '--shape', 'images=1x3x64x64', '--json');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout);
    validateJson('groups.schema.json', report);
    expect(report.totals.macs).toBe(macsAt('1x3x64x64'));
    expect(report.symbolicInputs).toBeUndefined();
  });

  it('makes prune count MACs at the given size while the small model stays dynamic, and verify run it at that size', () => {
    const [full, small] = [path('full.onnx'), path('small.onnx')];
    const run = otoc('prune', detector, '--shape', 'images=1x3x64x64', '--random-zero', '0.5', '--emit-full', full, '-o', small, '--json');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.macs.before).toBe(macsAt('1x3x64x64'));
    expect(summary.macs.after).toBeLessThan(summary.macs.before);
    const input = readModel(small).graph.inputs[0];
    expect(input.type?.kind === 'tensor' && dimsToShape(input.type.shape!)).toEqual(['batch', 3, 'height', 'width']);

    const verify = otoc('verify', full, small, '--shape', 'images=2x3x64x48', '--json');
    expect(verify.status).toBe(0);
    const result = JSON.parse(verify.stdout);
    validateJson('verify.schema.json', result);
    expect(result.outputs[0].shape).toEqual([2, 4, 32, 24]);
    expect(result.inputs.symbolicInputs).toBeUndefined();
  });

  it('is refused in one line when it names no input or does not fit the declared shape', () => {
    const wrongName = otoc('inspect', detector, '--shape', 'image=1x3x64x64');
    expect(wrongName.status).toBe(2);
    expect(wrongName.stderr.trim()).toBe("otoc: --shape names 'image', which is not a model input (inputs: images)");
    const wrongChannels = otoc('groups', detector, '--shape', 'images=1x4x64x64');
    expect(wrongChannels.status).toBe(2);
    expect(wrongChannels.stderr.trim()).toBe('otoc: --shape images=1x4x64x64 does not fit the declared shape [batch, 3, height, width]');
    const wrongRank = otoc('prune', detector, '--shape', 'images=64x64', '-o', path('never.onnx'));
    expect(wrongRank.status).toBe(2);
    expect(wrongRank.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('is checked by compress before any training', () => {
    const run = otoc('compress', detector, '--shape', 'images=1x3x64', '--data', 'fashion-mnist', '-o', path('never.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('otoc: --shape images=1x3x64 does not fit the declared shape [batch, 3, height, width]');
    expect(run.stdout).toBe('');
  });
});
