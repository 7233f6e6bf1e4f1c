/** `otoc train` as a user runs it: outputs, log, JSON summary, checkpoints, Ctrl-C and resume, errors. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetBuilder } from '../models/builder.js';
import { zooEntry } from '../models/zoo.js';
import { floatData } from '../src/ir/tensor.js';
import { validateJson } from '../src/io/json-schema.js';
import { readModel } from '../src/onnx/read.js';
import { writeModel } from '../src/onnx/write.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { CHECKPOINT_FILE } from '../src/train/checkpoint.js';
import { ensureBuilt, otoc, type CliResult } from './cli.js';

let dir: string;
let cnn: string;
/** A quick run: 512 images, 16 steps per epoch, 5 validation images per class. */
const QUICK = ['--data', 'fashion-mnist', '--limit', '512', '--val-split', '5', '--batch-size', '32', '--backend', 'wasm'];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'otoc-train-'));
  cnn = join(dir, 'cnn.onnx');
  writeModel(zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 }), cnn);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const path = (name: string) => join(dir, name);

/** Runs otoc until it prints `waitFor` on stderr, then sends it SIGINT. */
function interruptWhenPrinted(waitFor: RegExp, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin/otoc.js'), ...args]);
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!sent && waitFor.test(stderr)) sent = child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('otoc train', () => {
  it('writes the trained model, a log that follows its schema, and a JSON summary', () => {
    const out = path('trained.onnx');
    const log = path('metrics.jsonl');
    const run = otoc('train', cnn, ...QUICK, '--epochs', '2', '--log', log, '--log-every', '5', '--json', '-o', out);
    expect(run.stderr).not.toMatch(/otoc:/);
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout);
    validateJson('train.schema.json', summary);
    expect(summary).toMatchObject({ finished: true, trainImages: 512, valImages: 50, backend: 'wasm' });
    expect(summary.epochs).toHaveLength(2);

    const records = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    for (const record of records) validateJson('training-log.schema.json', record);
    expect(records.map((r) => r.type)).toEqual(['start', 'step', 'step', 'step', 'step', 'epoch', 'step', 'step', 'step', 'step', 'epoch']);
    expect(records.filter((r) => r.type === 'step').map((r) => r.steps)).toEqual([5, 5, 5, 1, 5, 5, 5, 1]);

    const [before, after] = [readModel(cnn), readModel(out)];
    expect(after.graph.nodes.map((n) => n.opType)).toEqual(before.graph.nodes.map((n) => n.opType));
    const initializer = (m: typeof before, name: string) => floatData(m.graph.lookup(name)!.constant!);
    expect(initializer(after, 'fc1.weight')).not.toEqual(initializer(before, 'fc1.weight'));
    expect(initializer(after, 'bn1.running_mean')).not.toEqual(initializer(before, 'bn1.running_mean'));
  });

  it('saves a checkpoint on Ctrl-C and, resumed, writes the uninterrupted run’s model', async () => {
    const args = [cnn, ...QUICK, '--epochs', '3'];
    const straight = otoc('train', ...args, '-o', path('straight.onnx'));
    expect(straight.status).toBe(0);

    const out = path('interrupted.onnx');
    const stopped = await interruptWhenPrinted(/step \d+\/16/, 'train', ...args, '-o', out);
    expect(stopped.stderr).toMatch(/interrupted: saving a checkpoint/);
    expect(stopped.status).toBe(130);
    expect(stopped.stdout).toMatch(/continue from the checkpoint in .*interrupted\.onnx\.checkpoint, run the same command with --resume/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(`${out}.checkpoint`, CHECKPOINT_FILE))).toBe(true);

    const resumed = otoc('train', ...args, '-o', out, '--resume');
    expect(resumed.stderr).not.toMatch(/otoc:/);
    expect(resumed.status).toBe(0);
    expect(readFileSync(out).equals(readFileSync(path('straight.onnx')))).toBe(true);
  });

  it('trains on two threads (the compiled worker script)', () => {
    const run = otoc('train', cnn, ...QUICK, '--epochs', '1', '--threads', '2', '--json', '-o', path('threads.onnx'));
    expect(run.stderr).not.toMatch(/otoc:/);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).epochs[0].valAccuracy).toBeGreaterThan(0);
  });

  it('checkpoints every epoch, and refuses to resume with other options', () => {
    const checkpoint = path('ckpt');
    const run = otoc('train', cnn, ...QUICK, '--epochs', '1', '--checkpoint', checkpoint, '-o', path('one.onnx'));
    expect(run.status).toBe(0);
    expect(existsSync(join(checkpoint, CHECKPOINT_FILE))).toBe(true);
    const other = otoc('train', cnn, ...QUICK, '--epochs', '1', '--lr', '0.01', '--checkpoint', checkpoint, '--resume', '-o', path('one.onnx'));
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/checkpoint is of a different run: lr \(0\.1 there, 0\.01 now\)/);

    // One bit flipped in the last float: refused in one line before any training.
    const file = join(checkpoint, CHECKPOINT_FILE);
    const bytes = readFileSync(file);
    bytes[bytes.length - 33] ^= 0x01;
    writeFileSync(file, bytes);
    const damaged = otoc('train', cnn, ...QUICK, '--epochs', '1', '--checkpoint', checkpoint, '--resume', '-o', path('one.onnx'));
    expect(damaged.status).toBe(2);
    expect(damaged.stderr).toBe(
      `otoc: ${file}: not a usable otoc checkpoint: its checksum does not match its contents: the file was truncated, damaged or changed after otoc wrote it\n`,
    );
  });
});

describe('otoc train errors', () => {
  function modelFile(name: string, build: () => ReturnType<NetBuilder['finish']>): string {
    writeModel(build(), path(name));
    return path(name);
  }

  it.each([
    {
      what: 'images that do not fit the model input',
      model: () => modelFile('rgb.onnx', () => zooEntry('small-cnn')!.build({ input: [3, 32, 32], classes: 10, seed: 0 })),
      message: /model input \[N, 3, 32, 32\] cannot take images of shape \[1, 28, 28\]/,
    },
    {
      what: 'a model that is not a classifier',
      model: () =>
        modelFile('features.onnx', () => {
          const b = new NetBuilder('features', [1, 28, 28], 0);
          return b.finish(b.conv(b.input, { out: 4 }));
        }),
      message: /output 'output' has shape \[N, 4, 28, 28\], not \[N, classes\]/,
    },
    {
      what: 'a model with two outputs',
      model: () =>
        modelFile('two.onnx', () => {
          const model = zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });
          model.graph.outputs.push(model.graph.nodes[0].outputs[0]!);
          return model;
        }),
      message: /one output \(the logits\); this model has 2/,
    },
    { what: 'a data directory that does not exist', model: () => cnn, args: ['--data', join(tmpdir(), 'otoc-no-such-data')], message: /neither a built-in data set/ },
    { what: 'resuming without a checkpoint', model: () => cnn, args: ['--resume'], message: /no checkpoint to resume from/ },
    { what: 'zero threads', model: () => cnn, args: ['--threads', '0'], message: /^otoc: --threads must be a positive integer, got 0$/ },
    { what: 'zero epochs', model: () => cnn, args: ['--epochs', '0'], message: /^otoc: the number of epochs must be a positive integer, got 0$/ },
  ])('explains $what in one line', ({ model, args = [], message }) => {
    const run = otoc('train', model(), ...QUICK, ...args, '-o', path('unused.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the model file when the model does not fit the data', () => {
    const rgb = modelFile('rgb-named.onnx', () => zooEntry('small-cnn')!.build({ input: [3, 32, 32], classes: 10, seed: 0 }));
    const run = otoc('train', rgb, ...QUICK, '-o', path('unused.onnx'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      `otoc: ${rgb}: the model input [N, 3, 32, 32] cannot take images of shape [1, 28, 28]: it would need [N, 1, 28, 28] or [N, 784]`,
    );
  });
});
