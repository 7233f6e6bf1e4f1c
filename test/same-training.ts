import { expect } from 'vitest';
import { floatData } from '../src/ir/tensor.js';
import { decodeModel } from '../src/onnx/read.js';

/**
 * The same graph and weights bit for bit; BatchNorm running statistics within float rounding: some
 * wasm reductions sum in an order that depends on where the data lies in memory (train.test.ts).
 */
export function expectSameTraining(a: Uint8Array, b: Uint8Array): void {
  const [ga, gb] = [decodeModel(a).graph, decodeModel(b).graph];
  expect(ga.nodes.map((n) => n.opType)).toEqual(gb.nodes.map((n) => n.opType));
  expect(ga.initializers.map((v) => v.name)).toEqual(gb.initializers.map((v) => v.name));
  for (const v of ga.initializers) {
    const [x, y] = [floatData(v.constant!), floatData(gb.lookup(v.name)!.constant!)];
    if (!v.name.includes('running_')) {
      expect(y, v.name).toEqual(x);
      continue;
    }
    const scale = Math.max(...x.map(Math.abs));
    expect(Math.max(...x.map((xi, i) => Math.abs(xi - y[i]))), v.name).toBeLessThanOrEqual(1e-6 * scale);
  }
}
