/**
 * What otoc checks while it reads a file (issue 26, items 5 and 7): the protobuf wire format
 * before anything decodes it, and every tensor's data against its dims, in every storage.
 * Each failure is an input error (OtocError, exit code 2), never an exception of protobufjs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { DataType, type NumericArray } from '../src/ir/dtype.js';
import type { Tensor } from '../src/ir/tensor.js';
import { MAX_NESTING_DEPTH } from '../src/limits.js';
import { decodeModel } from '../src/onnx/read.js';
import { encodeModel } from '../src/onnx/write.js';
import { ensureBuilt, otoc } from './cli.js';
import { constantTensor, input, oneNodeModel } from './one-node.js';
import { corpusModel } from './paths.js';

/** The OtocError decoding `bytes` throws (the test fails if it throws anything else, or nothing). */
function refusal(bytes: Uint8Array): OtocError {
  try {
    decodeModel(bytes);
  } catch (e) {
    if (e instanceof OtocError) return e;
    throw e;
  }
  throw new Error('decoded without complaint');
}

const tag = (field: number, wire: number) => protobuf.Writer.create().uint32((field << 3) | wire).finish();
const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
const GOOD = readFileSync(corpusModel('concat_case'));

describe('the wire format is checked before decoding', () => {
  it('refuses an invalid wire type (7), naming the field', () => {
    expect(refusal(cat(GOOD, tag(7, 7))).message).toMatch(/field ModelProto\.graph at byte \d+ has wire type 7/);
  });

  it('refuses a field written with the wrong wire type for its declared type', () => {
    // ir_version is an int64 (varint); here it is length-delimited.
    const bytes = cat(tag(1, 2), Uint8Array.of(1, 5), GOOD.subarray(2));
    expect(refusal(bytes).message).toMatch(/ModelProto\.ir_version .* has wire type 2, but its type int64 is written with wire type 0/);
  });

  it('refuses a length that runs past the end of its message, and a varint that does', () => {
    const graph = protobuf.Writer.create().uint32((1 << 3) | 0).finish(); // GraphProto field 1 (node) as a varint... with no value
    const graphField = cat(tag(7, 2), Uint8Array.of(graph.length), graph);
    expect(refusal(cat(tag(1, 0), Uint8Array.of(8), graphField)).message).toMatch(/file is truncated or corrupt: .*ModelProto\.graph\.node/);
    const claims = cat(tag(1, 0), Uint8Array.of(8), tag(7, 2), Uint8Array.of(100), Uint8Array.of(0, 0));
    expect(refusal(claims).message).toMatch(/field ModelProto\.graph at byte \d+ claims 100 bytes, but only 2 are left/);
    expect(refusal(cat(tag(1, 0), Uint8Array.of(0x80, 0x80))).message).toMatch(/a varint in ModelProto\.ir_version .* runs past the end/);
  });

  it('refuses a packed repeated field whose last varint is cut off', () => {
    const tensor = cat(tag(1, 2), Uint8Array.of(2, 3, 0x80), tag(2, 0), Uint8Array.of(1));
    const graph = cat(tag(5, 2), Uint8Array.of(tensor.length), tensor);
    const bytes = cat(tag(1, 0), Uint8Array.of(8), tag(7, 2), Uint8Array.of(graph.length), graph);
    expect(refusal(bytes).message).toMatch(/ModelProto\.graph\.initializer\.dims .* runs past the end/);
  });

  it(`refuses messages nested more than ${MAX_NESTING_DEPTH} deep, and accepts 30 nested subgraphs`, () => {
    /**
     * `levels` nodes, each holding the next graph in a graph attribute: 2 + 3·levels messages
     * deep. Written level by level (protobufjs itself refuses to encode beyond depth 100).
     */
    const nested = (levels: number) => {
      const field = (id: number, bytes: Uint8Array) => protobuf.Writer.create().uint32((id << 3) | 2).bytes(bytes).finish();
      let graph: Uint8Array = field(2, Buffer.from('inner'));
      for (let i = 0; i < levels; i++) {
        const attribute = cat(field(1, Buffer.from('body')), tag(20, 0), Uint8Array.of(5), field(6, graph));
        const node = cat(field(4, Buffer.from('Wrap')), field(7, Buffer.from('test')), field(5, attribute));
        graph = field(1, node);
      }
      const opset = cat(field(1, Buffer.from('test')), tag(2, 0), Uint8Array.of(1));
      return cat(tag(1, 0), Uint8Array.of(8), field(8, opset), field(7, graph));
    };
    expect(refusal(nested(33)).message).toMatch(/nested more than 100 deep/);
    expect(() => decodeModel(nested(32))).not.toThrow();
    // Far deeper than a stack could recurse: still one clean refusal.
    expect(refusal(nested(1000)).message).toMatch(/nested more than 100 deep/);
  });

  it('keeps the messages for an empty file, a text file and an unknown field', () => {
    expect(refusal(new Uint8Array(0)).message).toMatch(/file is empty/);
    expect(refusal(Buffer.from('ir_version: 8\ngraph { }\n')).message).toMatch(/not an ONNX model: it is a text file/);
    expect(refusal(cat(GOOD, tag(99, 0), Uint8Array.of(1))).message).toMatch(/unknown protobuf field \(ModelProto: field #99\)/);
  });
});

/** A model whose Add reads an initializer of dims [3] that holds `data` in `storage`. */
function withTensor(dataType: DataType, data: NumericArray | Uint8Array[], storage: 'raw' | 'field'): Uint8Array {
  const tensor: Omit<Tensor, 'name'> = { dataType, dims: [3], data, storage: { kind: storage } };
  return encodeModel(oneNodeModel({ op: 'Add', inputs: [input([3], dataType), constantTensor(tensor)] })).model;
}

describe('every tensor is checked against its dims, in every storage', () => {
  const cases: [string, DataType, NumericArray | Uint8Array[], 'raw' | 'field', RegExp][] = [
    ['raw_data', DataType.FLOAT, new Float32Array(2), 'raw', /holds 8 bytes, but its float32 dims need 12/],
    ['float_data', DataType.FLOAT, new Float32Array(2), 'field', /holds 2 values in float_data, but its float32 dims \[3\] need 3/],
    ['int32_data (int32)', DataType.INT32, new Int32Array(4), 'field', /holds 4 values in int32_data/],
    ['int32_data (bool)', DataType.BOOL, new Uint8Array(1), 'field', /holds 1 values in int32_data/],
    ['int32_data (float16)', DataType.FLOAT16, new Uint16Array(2), 'field', /holds 2 values in int32_data/],
    ['int64_data', DataType.INT64, new BigInt64Array(5), 'field', /holds 5 values in int64_data/],
    ['double_data', DataType.DOUBLE, new Float64Array(1), 'field', /holds 1 values in double_data/],
    ['uint64_data (uint64)', DataType.UINT64, new BigUint64Array(2), 'field', /holds 2 values in uint64_data/],
    ['uint64_data (uint32)', DataType.UINT32, new Uint32Array(7), 'field', /holds 7 values in uint64_data/],
    ['string_data', DataType.STRING, [Buffer.from('a')], 'field', /holds 1 values in string_data/],
    ['no data at all', DataType.FLOAT, new Float32Array(0), 'field', /has no data, but its float32 dims \[3\] need 3/],
  ];

  it.each(cases)('%s with the wrong number of values is refused', (_, type, data, storage, expected) => {
    expect(refusal(withTensor(type, data, storage)).message).toMatch(expected);
  });

  it('refuses negative dims and dims beyond the limit before allocating anything', () => {
    const tensor = (dims: number[]) =>
      encodeModel(oneNodeModel({ op: 'Add', inputs: [input([1]), constantTensor({ dataType: DataType.FLOAT, dims, data: new Float32Array(1), storage: { kind: 'field' } })] })).model;
    expect(refusal(tensor([3, -1])).message).toMatch(/has a negative dim: \[3,-1\]/);
    expect(refusal(tensor([2 ** 20, 2 ** 20])).message).toMatch(/has dims \[1048576,1048576\]: more than otoc's limit of 4294967295 elements/);
    expect(refusal(tensor(new Array(65).fill(1))).message).toMatch(/has 65 dims, more than otoc's limit of 64/);
  });
});

describe('the CLI on a corrupt protobuf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otoc-read-'));
  beforeAll(ensureBuilt);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 with one line, for an invalid wire type and for a length beyond the end (no internal error)', () => {
    for (const [name, bytes] of [
      ['wire7.onnx', cat(GOOD, tag(7, 7))],
      ['length.onnx', cat(tag(1, 0), Uint8Array.of(8), tag(7, 2), Uint8Array.of(100), Uint8Array.of(0, 0))],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      const run = otoc('inspect', file);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^otoc: ${file}: file is truncated or corrupt: [^\\n]*\\n$`));
    }
  });
});
