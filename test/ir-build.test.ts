/** src/ir/build.ts: the one way nodes, constants and attributes are built. */
import { describe, expect, it } from 'vitest';
import { attrFloat, attrInt, attrInts, attrString } from '../src/ir/attributes.js';
import { attribute, float, floats, GraphBuilder, setAttributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph } from '../src/ir/graph.js';
import { findProblems } from '../src/ir/validate.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { createSession, runSession } from '../src/runtime/ort.js';
import { makeTensor } from '../src/ir/tensor.js';

describe('attributes', () => {
  it('types a value the way ONNX readers read it back', () => {
    const b = new GraphBuilder();
    const node = b.node('Op', [], {
      attributes: { count: 3, big: 2n ** 40n, sizes: [1, -2], alpha: float(1), scales: floats([0.5, 2]), mode: 'linear', empty: [] },
    });
    expect(attrInt(node, 'count')).toBe(3);
    expect(attrInt(node, 'big')).toBe(2 ** 40);
    expect(attrInts(node, 'sizes')).toEqual([1, -2]);
    expect(attrFloat(node, 'alpha')).toBe(1);
    expect(node.attributes.get('scales')).toEqual({ name: 'scales', type: 'floats', value: [0.5, 2] });
    expect(attrString(node, 'mode')).toBe('linear');
    expect(node.attributes.get('empty')).toEqual({ name: 'empty', type: 'ints', value: [] });
    expect([...node.attributes.keys()]).toEqual(['count', 'big', 'sizes', 'alpha', 'scales', 'mode', 'empty']);
  });

  it('takes any other type tagged, and refuses a fraction where an integer is meant', () => {
    const body = new Graph();
    expect(attribute('then_branch', { type: 'graph', value: body })).toEqual({ name: 'then_branch', type: 'graph', value: body });
    expect(() => attribute('alpha', 0.5)).toThrow("attribute 'alpha': 0.5 is not an integer (write float(0.5) for a float attribute)");
  });

  it('setAttributes replaces an attribute of the same name', () => {
    const node = new GraphBuilder().node('Conv', [], { attributes: { group: 4 } });
    setAttributes(node, { group: 2 });
    expect(attrInt(node, 'group')).toBe(2);
    expect(node.attributes.size).toBe(1);
  });
});

describe('GraphBuilder', () => {
  it('names what it is not told to name, and keeps every name unique', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['N', 2]);
    const shape = b.int64s([-1]);
    const y = b.op('Reshape', [x, shape]);
    const again = b.constant(DataType.FLOAT, [1], Float32Array.of(1), 'x');
    expect([x.name, shape.name, y.name, again.name]).toEqual(['x', 'const0', 't1', 'x_1']);
    expect(shape.constant!.name).toBe('const0');
    const split = b.node('Split', [y], { name: 'split', outputs: ['a', null, 'b'] });
    expect(split.outputs.map((v) => v?.name ?? null)).toEqual(['a', null, 'b']);
  });

  it('builds a model that validates and runs in onnxruntime', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['N', 3]);
    const scaled = b.op('Mul', [x, b.constant(DataType.FLOAT, [3], Float32Array.of(1, 2, 3))]);
    const y = b.op('Gemm', [scaled, b.constant(DataType.FLOAT, [1, 3], Float32Array.of(1, 1, 1))], { alpha: float(0.5), transB: 1 });
    b.output(y, 'y').type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 1 }] };
    const model = b.model(13, { producerName: 'test' });
    expect(findProblems(model)).toEqual([]);
    const bytes = encodeModel(model).model;
    expect(decodeModel(bytes).producerName).toBe('test');
    const [out] = await runSession(await createSession(bytes), { x: makeTensor('x', DataType.FLOAT, [2, 3], Float32Array.of(1, 1, 1, 2, 0, 1)) });
    expect(Array.from(out.data as Float32Array)).toEqual([3, 2.5]);
  });
});
