import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { diffModels } from '../src/ir/compare.js';
import { DataType, NumericArray } from '../src/ir/dtype.js';
import { Graph, Model } from '../src/ir/graph.js';
import { Tensor, TensorStorage, elementCount } from '../src/ir/tensor.js';
import { decodeModel, readModel } from '../src/onnx/read.js';
import { GraphProto, ModelProto, TensorProto } from '../src/onnx/schema.js';
import { encodeModel, writeModel } from '../src/onnx/write.js';
import { finishInChunks } from '../src/onnx/writer-chunks.js';
import { TESTDATA, corpusModel, corpusTestSet } from './paths.js';
import {
  fedInputNames,
  outputDifference,
  protoDifference,
  readTestDataFeeds,
  roundTripDifference,
  roundTripFile,
  runModel,
  tensorBytes,
} from './roundtrip-check.js';

const workDir = mkdtempSync(join(tmpdir(), 'otoc-onnx-io-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A fresh empty folder for one test's files. */
function freshDir(name: string): string {
  return mkdtempSync(join(workDir, `${name}-`));
}

function encodeDecode(model: Model): Model {
  return decodeModel(encodeModel(model).model);
}

describe('external data', () => {
  const name = 'fmnist_resnet';
  const BIG = 1024;
  const WEIGHTS_BIN: TensorStorage = { kind: 'external', location: 'weights.bin', props: [] };

  it('writes big initializers to model.onnx.data beside the model and reads them back unchanged', async () => {
    const original = readModel(corpusModel(name));
    const model = readModel(corpusModel(name));
    const external = model.graph.initializers.filter((v) => elementCount(v.constant!.dims) >= BIG);
    expect(external.length).toBeGreaterThan(0);
    for (const v of external) v.constant!.storage = WEIGHTS_BIN;

    const dir = freshDir('external');
    const path = join(dir, 'model.onnx');
    writeModel(model, path);
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    expect(statSync(join(dir, 'model.onnx.data')).size).toBeGreaterThan(statSync(path).size);

    const back = readModel(path);
    expect(diffModels(model, back)).toBeNull();
    const originalData = new Map(original.graph.initializers.map((v) => [v.name, v.constant!]));
    for (const v of back.graph.initializers) {
      const t = v.constant!;
      expect(t.storage.kind, v.name).toBe(external.some((e) => e.name === v.name) ? 'external' : 'raw');
      expect(sameBytes(tensorBytes(t), tensorBytes(originalData.get(v.name)!)), v.name).toBe(true);
    }
    // Each tensor is read by offset and length into a buffer of its own, which it views without a copy.
    const externalBack = back.graph.initializers.map((v) => v.constant!).filter((t) => t.storage.kind === 'external');
    for (const t of externalBack) expect(bufferOf(t).byteLength, t.name).toBe(tensorBytes(t).byteLength);

    const feeds = readTestDataFeeds([corpusTestSet(name)], fedInputNames(original));
    const expected = await runModel(readFileSync(corpusModel(name)), feeds);
    expect(outputDifference(expected, await runModel(path, feeds))).toBeNull();
  });

  it('round-trips a model that already has external data', () => {
    const model = readModel(corpusModel(name));
    for (const v of model.graph.initializers) v.constant!.storage = WEIGHTS_BIN;
    const [first, second] = [freshDir('external-1'), freshDir('external-2')];
    writeModel(model, join(first, 'model.onnx'));
    const rt = roundTripFile(join(first, 'model.onnx'), join(second, 'model.onnx'));
    expect(diffModels(rt.original, rt.written)).toBeNull();
    const weights = (dir: string) => readFileSync(join(dir, 'model.onnx.data'));
    expect(sameBytes(weights(first), weights(second))).toBe(true);
  });
});

describe('initializer data types, in raw_data and in the typed fields', () => {
  const INT64_MAX = 2n ** 63n - 1n;
  const INT64_MIN = -(2n ** 63n);
  const cases: { type: DataType; field: string; data: NumericArray }[] = [
    // Every bit must survive the typed fields too: -0, NaN payloads, a signaling NaN, subnormals.
    {
      type: DataType.FLOAT,
      field: 'float_data',
      data: float32Bits([0x3f800000, 0x80000000, 0x7fc00001, 0x7f800001, 0xff800000, 0x00000001]),
    },
    // float16 codes: 1, max, -inf, NaN with a payload, -0.
    { type: DataType.FLOAT16, field: 'int32_data', data: Uint16Array.of(0x3c00, 0x7bff, 0xfc00, 0x7e01, 0x8000) },
    // bfloat16 codes: 1, +inf, NaN with a payload, smallest subnormal.
    { type: DataType.BFLOAT16, field: 'int32_data', data: Uint16Array.of(0x3f80, 0x7f80, 0xff81, 0x0001) },
    { type: DataType.INT64, field: 'int64_data', data: BigInt64Array.of(INT64_MAX, INT64_MIN, -1n, 0n, 2n ** 53n + 1n) },
    { type: DataType.UINT64, field: 'uint64_data', data: BigUint64Array.of(2n ** 64n - 1n, 2n ** 63n, 0n) },
    {
      type: DataType.DOUBLE,
      field: 'double_data',
      data: float64Bits([0x400921fb54442d18n, 0x8000000000000000n, 0x7ff8000000000001n, 0x7ff0000000000001n, 1n]),
    },
    { type: DataType.BOOL, field: 'int32_data', data: Uint8Array.of(1, 0, 1, 1) },
    { type: DataType.INT8, field: 'int32_data', data: Int8Array.of(-128, 127, -1, 0) },
    { type: DataType.UINT32, field: 'uint64_data', data: Uint32Array.of(0xffffffff, 0, 1) },
  ];

  for (const { type, field, data } of cases) {
    for (const storage of ['raw', 'field'] as const) {
      const where = storage === 'raw' ? 'raw_data' : field;
      it(`${DataType[type]} in ${where}`, () => {
        const tensor: Tensor = { name: 'w', dataType: type, dims: [data.length], data, storage: { kind: storage } };
        expectSurvives(tensor, where);
      });
    }
  }

  it('STRING in string_data, including bytes that are not UTF-8', () => {
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const data = [utf8('hello'), utf8('ünïcödé'), Uint8Array.of(0x00, 0xff, 0xfe), new Uint8Array(0)];
    expectSurvives({ name: 'w', dataType: DataType.STRING, dims: [2, 2], data, storage: { kind: 'field' } }, 'string_data');
  });

  /** Encode a model holding `tensor`, check the field that holds its data, decode, and compare every byte. */
  function expectSurvives(tensor: Tensor, field: string): void {
    const model = modelWithInitializer(tensor);
    const bytes = encodeModel(model).model;
    const stored = (ModelProto.decode(bytes) as unknown as { graph: { initializer: object[] } }).graph.initializer[0];
    expect(Object.keys(stored)).toContain(field);
    const back = decodeModel(bytes);
    expect(diffModels(model, back)).toBeNull();
    const t = back.graph.initializers[0].constant!;
    expect(t.dataType).toBe(tensor.dataType);
    expect(t.dims).toEqual(tensor.dims);
    expect(t.storage).toEqual(tensor.storage);
    expect(sameBytes(tensorBytes(t), tensorBytes(tensor))).toBe(true);
  }

  function float32Bits(bits: number[]): Float32Array {
    return new Float32Array(Uint32Array.from(bits).buffer);
  }

  function float64Bits(bits: bigint[]): Float64Array {
    return new Float64Array(BigUint64Array.from(bits).buffer);
  }
});

describe('subgraphs', () => {
  it.each(['test_if', 'test_scan9_sum', 'test_range_float_type_positive_delta_expanded'])(
    '%s: If/Scan/Loop bodies survive',
    (test) => {
      const dir = freshDir(test);
      const rt = roundTripFile(join(TESTDATA, 'node', test, 'model.onnx'), join(dir, 'model.onnx'));
      expect(roundTripDifference(rt)).toBeNull();
      const bodies = (m: Model) => m.graph.nodes.flatMap((n) => n.subgraphs());
      expect(bodies(rt.written).map((g) => g.nodes.map((n) => n.opType))).toEqual(
        bodies(rt.original).map((g) => g.nodes.map((n) => n.opType)),
      );
      for (const body of bodies(rt.written)) expect(body.parent).toBe(rt.written.graph);
    },
  );

  it("a Loop body's read of an outer-scope value is linked to the outer graph's value", () => {
    const model = readModel(join(TESTDATA, 'node', 'test_range_float_type_positive_delta_expanded', 'model.onnx'));
    const back = encodeDecode(model);
    const body = back.graph.nodes.find((n) => n.opType === 'Loop')!.subgraphs()[0];
    const delta = body.nodes.flatMap((n) => n.inputs).find((v) => v?.name === 'delta');
    expect(delta).toBeDefined();
    expect(delta).toBe(back.graph.lookup('delta'));
    expect(delta!.consumers.some((n) => n.graph === body)).toBe(true);
  });
});

describe('metadata and doc strings', () => {
  it('survive on the model, graph, nodes, attributes, values and tensors', () => {
    const model = readModel(join(TESTDATA, 'node', 'test_if', 'model.onnx'));
    const props = (tag: string) => [
      { key: `${tag}.a`, value: 'ü \n "quoted"' },
      { key: `${tag}.b`, value: '' },
    ];
    model.docString = 'model doc';
    model.metadataProps = props('model');
    model.producerName = 'otoc-test';
    model.producerVersion = '9.9';
    model.domain = 'org.otoc.test';
    model.modelVersion = 2n ** 62n;
    const graph = model.graph;
    graph.docString = 'graph doc';
    graph.metadataProps = props('graph');
    const node = graph.nodes[0];
    node.docString = 'node doc';
    node.metadataProps = props('node');
    const attr = node.attributes.values().next().value!;
    attr.docString = 'attribute doc';
    graph.inputs[0].info = { docString: 'input doc', metadataProps: props('input') };
    const body = node.subgraphs()[0];
    body.docString = 'body doc';
    body.nodes[0].docString = 'body node doc';
    const constant = body.nodes[0].attributes.get('value')!;
    if (constant.type !== 'tensor') throw new Error('expected a Constant with a tensor value');
    constant.value.docString = 'tensor doc';
    constant.value.metadataProps = props('tensor');

    const back = encodeDecode(model);
    expect(diffModels(model, back)).toBeNull();
    expect(back.docString).toBe('model doc');
    expect(back.metadataProps).toEqual(props('model'));
    expect([back.producerName, back.producerVersion, back.domain, back.modelVersion]).toEqual([
      'otoc-test',
      '9.9',
      'org.otoc.test',
      2n ** 62n,
    ]);
    expect(back.graph.docString).toBe('graph doc');
    expect(back.graph.metadataProps).toEqual(props('graph'));
    expect(back.graph.nodes[0].docString).toBe('node doc');
    expect(back.graph.nodes[0].metadataProps).toEqual(props('node'));
    expect(back.graph.nodes[0].attributes.get(attr.name)!.docString).toBe('attribute doc');
    expect(back.graph.inputs[0].info).toEqual({ docString: 'input doc', metadataProps: props('input') });
    const backBody = back.graph.nodes[0].subgraphs()[0];
    expect(backBody.docString).toBe('body doc');
    expect(backBody.nodes[0].docString).toBe('body node doc');
    const backConstant = backBody.nodes[0].attributes.get('value')!;
    expect(backConstant.type === 'tensor' && backConstant.value.docString).toBe('tensor doc');
    expect(backConstant.type === 'tensor' && backConstant.value.metadataProps).toEqual(props('tensor'));
  });
});

describe('fields the schema does not know', () => {
  /** Field 99 as a varint: tag (99 << 3 | 0) = 0x98 0x06, value 1. */
  const FIELD_99 = Uint8Array.of(0x98, 0x06, 0x01);
  const TEST_IF = join(TESTDATA, 'node', 'test_if', 'model.onnx');

  it('refuses a model with an unknown ModelProto field, naming it', () => {
    const bytes = Buffer.concat([readFileSync(TEST_IF), FIELD_99]);
    expect(() => decodeModel(bytes)).toThrow(OtocError);
    expect(() => decodeModel(bytes)).toThrow(/unknown protobuf field \(ModelProto: field #99\).*refuses/);
  });

  it('refuses a model with an unknown field nested in its graph, and names the file', () => {
    const model = readModel(TEST_IF);
    const decoded = ModelProto.decode(readFileSync(TEST_IF)) as unknown as { graph: object };
    const graphBytes = Buffer.concat([GraphProto.encode(decoded.graph).finish(), FIELD_99]);
    const bytes = protobuf.Writer.create()
      .uint32((ModelProto.fields.ir_version.id << 3) | 0)
      .int64(model.irVersion)
      .uint32((ModelProto.fields.graph.id << 3) | 2)
      .bytes(graphBytes)
      .finish();
    const path = join(freshDir('unknown-field'), 'model.onnx');
    writeFileSync(path, bytes);
    let error: unknown;
    try {
      readModel(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OtocError);
    expect((error as OtocError).file).toBe(path);
    expect((error as OtocError).message).toMatch(/unknown protobuf field \(ModelProto\.graph: field #99\)/);
  });
});

describe('the round-trip tests\' protobuf comparison', () => {
  const encoded = (edit: (m: Model) => void) => {
    const model = readModel(corpusModel('fmnist_resnet'));
    edit(model);
    return encodeModel(model).model;
  };
  const original = encoded(() => {});

  it('notices one changed weight bit and one dropped doc string', () => {
    const flipped = encoded((m) => (m.graph.initializers[0].constant!.data as Float32Array)[0]++);
    expect(protoDifference(original, flipped)).toMatch(/initializer\.0\.raw_data: bytes differ/);
    const documented = encoded((m) => (m.graph.nodes[0].docString = 'doc'));
    expect(protoDifference(documented, original)).toMatch(/node\.0\.doc_string/);
  });

  it('takes an empty string for an absent one', () => {
    const withDomain = (domain: object) => ModelProto.encode({ ir_version: 8, opset_import: [{ ...domain, version: 13 }] });
    expect(protoDifference(withDomain({ domain: '' }).finish(), withDomain({}).finish())).toBeNull();
    expect(protoDifference(withDomain({ domain: 'ai.onnx.ml' }).finish(), withDomain({}).finish())).not.toBeNull();
  });
});

describe('writing', () => {
  it('writeModel writes exactly the bytes of encodeModel', () => {
    const model = readModel(corpusModel('fmnist_resnet'));
    const path = join(freshDir('write'), 'model.onnx');
    writeModel(model, path);
    expect(sameBytes(readFileSync(path), encodeModel(model).model)).toBe(true);
  });

  it('passes big byte strings through as chunks of their own instead of copying them', () => {
    const weights = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const message = { dims: [weights.length], data_type: DataType.UINT8, raw_data: weights, name: 'w' };
    const chunks = finishInChunks(TensorProto.encode(message));
    expect(chunks).toContain(weights);
    expect(sameBytes(Buffer.concat(chunks), TensorProto.encode(message).finish())).toBe(true);
  });
});

describe('zero-copy reading', () => {
  const MODEL = corpusModel('fmnist_resnet');
  const BIG = 1024;

  /** The file's bytes, the position of each initializer's raw_data in them, and its big float initializers. */
  function decodeFile(options: { ownsBytes?: boolean } = {}) {
    const fileBytes = readFileSync(MODEL);
    // protobufjs returns bytes fields as views of its input, so raw_data.byteOffset is the position in the file.
    type Initializers = { graph: { initializer: { name: string; raw_data?: Uint8Array }[] } };
    const decoded = ModelProto.decode(fileBytes) as unknown as Initializers;
    const rawOffset = new Map(decoded.graph.initializer.map((t) => [t.name, t.raw_data?.byteOffset ?? -1]));
    const big = decodeModel(fileBytes, options)
      .graph.initializers.map((v) => v.constant!)
      .filter((t) => t.dataType === DataType.FLOAT && t.storage.kind === 'raw' && elementCount(t.dims) >= BIG);
    return { fileBytes, rawOffset, big };
  }

  it('without ownsBytes, initializers are copies: a model changed in place leaves the bytes as they were', () => {
    const { fileBytes, big } = decodeFile();
    const before = Buffer.from(fileBytes);
    expect(big.length).toBeGreaterThan(0);
    for (const t of big) {
      expect((t.data as Float32Array).buffer, t.name).not.toBe(fileBytes.buffer);
      (t.data as Float32Array).fill(0);
    }
    expect(fileBytes.equals(before)).toBe(true);
  });

  it('with ownsBytes (as readModel reads), misaligned ones are moved into alignment inside the file bytes', () => {
    const expected = new Map(decodeFile().big.map((t) => [t.name, tensorBytes(t)]));
    const { fileBytes, rawOffset, big } = decodeFile({ ownsBytes: true });
    for (const t of big) {
      const data = t.data as Float32Array;
      expect(data.buffer, t.name).toBe(fileBytes.buffer);
      expect(rawOffset.get(t.name)! - data.byteOffset, t.name).toBeLessThan(Float32Array.BYTES_PER_ELEMENT);
      expect(sameBytes(tensorBytes(t), expected.get(t.name)!), t.name).toBe(true);
    }
  });
});

function modelWithInitializer(tensor: Tensor): Model {
  const graph = new Graph();
  graph.name = 'initializers';
  graph.addInitializer(graph.ensureValue(tensor.name), tensor);
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return model;
}

/** Byte-wise equality (vitest's toEqual walks big arrays element by element, which takes seconds). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function bufferOf(t: Tensor): ArrayBufferLike {
  if (Array.isArray(t.data)) throw new Error(`tensor '${t.name}' holds strings`);
  return t.data.buffer;
}
