import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { initBackend } from '../src/tfjs/backend.js';

function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('initBackend', () => {
  it('picks the fastest backend that starts by default', async () => {
    const expected = tfjsNodeInstalled() ? 'tensorflow' : 'wasm';
    expect(await initBackend()).toBe(expected);
    expect(tf.getBackend()).toBe(expected);
  });

  it('starts a backend asked for by name, and again', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('wasm')).toBe('wasm');
    expect(Array.from(await tf.add(tf.tensor([1, 2]), 1).data())).toEqual([2, 3]);
  });

  it.skipIf(tfjsNodeInstalled())('explains that tensorflow needs the optional package', async () => {
    const error = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtocError);
    expect((error as Error).message).toMatch(/backend 'tensorflow' is not available: .*@tensorflow\/tfjs-node.*--backend wasm or cpu/);
  });
});
