/** Latency measurement: sessions take turns, each gets its own median. */
import type ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { zooEntry } from '../models/zoo.js';
import { encodeModel } from '../src/onnx/write.js';
import { DataType } from '../src/ir/dtype.js';
import { makeTensor } from '../src/ir/tensor.js';
import { createSession } from '../src/runtime/ort.js';
import { measureLatencies } from '../src/runtime/latency.js';

/** The session, its runs recorded in `log` under `label`. */
function recorded(session: ort.InferenceSession, label: string, log: string[]): ort.InferenceSession {
  return new Proxy(session, {
    get(target, key, receiver) {
      if (key !== 'run') return Reflect.get(target, key, receiver);
      return (...args: Parameters<ort.InferenceSession['run']>) => {
        log.push(label);
        return target.run(...args);
      };
    },
  });
}

describe('measureLatencies', () => {
  it('alternates the sessions run by run and gives each its median, the larger model the slower', async () => {
    const build = (name: string) => encodeModel(zooEntry(name)!.build({ input: [1, 28, 28], classes: 10, seed: 0 })).model;
    const [big, small] = await Promise.all([createSession(build('vgg')), createSession(build('small-cnn'))]);
    const log: string[] = [];
    const input = big.inputNames[0];
    const feeds = { [input]: makeTensor(input, DataType.FLOAT, [1, 1, 28, 28], new Float32Array(784).fill(0.5)) };
    const [a, b] = await measureLatencies([recorded(big, 'big', log), recorded(small, 'small', log)], feeds, 20, 2);
    expect(log).toEqual(Array.from({ length: 22 }, () => ['big', 'small']).flat());
    expect([a.runs, b.runs]).toEqual([20, 20]);
    expect(b.medianMs).toBeGreaterThan(0);
    expect(a.medianMs).toBeGreaterThan(b.medianMs);
  });
});
