import { createHash } from 'node:crypto';
import { Attribute, Graph, Model, Node, Value } from './graph.js';
import { Tensor, dataBytes } from './tensor.js';

type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };

/**
 * A canonical plain form of every field of the IR: tensor data as a digest, bigints as
 * strings. Two models are equal IRs when their canonical forms are deep-equal.
 */
export function canonicalModel(m: Model): Plain {
  return {
    irVersion: m.irVersion,
    opsetImports: m.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    producerName: m.producerName ?? null,
    producerVersion: m.producerVersion ?? null,
    domain: m.domain ?? null,
    modelVersion: m.modelVersion?.toString() ?? null,
    docString: m.docString ?? null,
    metadataProps: plain(m.metadataProps),
    trainingInfo: plain(m.trainingInfo),
    functions: plain(m.functions),
    configuration: plain(m.configuration),
    graph: canonicalGraph(m.graph),
  };
}

function canonicalGraph(g: Graph): Plain {
  const info = (v: Value) => ({ name: v.name, type: plain(v.type), info: plain(v.info) });
  return {
    name: g.name,
    docString: g.docString ?? null,
    metadataProps: plain(g.metadataProps),
    inputs: g.inputs.map(info),
    outputs: g.outputs.map(info),
    valueInfo: g.valueInfo.map(info),
    initializers: g.initializers.map((v) => ({ name: v.name, tensor: canonicalTensor(v.constant!) })),
    sparseInitializers: plain(g.sparseInitializers),
    quantizationAnnotation: plain(g.quantizationAnnotation),
    nodes: g.nodes.map(canonicalNode),
  };
}

function canonicalNode(n: Node): Plain {
  return {
    opType: n.opType,
    domain: n.domain,
    name: n.name,
    overload: n.overload ?? null,
    docString: n.docString ?? null,
    metadataProps: plain(n.metadataProps),
    deviceConfigurations: plain(n.deviceConfigurations),
    inputs: n.inputs.map((v) => v?.name ?? ''),
    outputs: n.outputs.map((v) => v?.name ?? ''),
    attributes: [...n.attributes.values()].map(canonicalAttribute),
  };
}

function canonicalAttribute(a: Attribute): Plain {
  const value = (() => {
    switch (a.type) {
      case 'tensor':
        return canonicalTensor(a.value);
      case 'tensors':
        return a.value.map(canonicalTensor);
      case 'graph':
        return canonicalGraph(a.value);
      case 'graphs':
        return a.value.map(canonicalGraph);
      default:
        return plain(a.value);
    }
  })();
  return { name: a.name, type: a.type, docString: a.docString ?? null, refAttrName: a.refAttrName ?? null, value };
}

function canonicalTensor(t: Tensor): Plain {
  const bytes = Array.isArray(t.data) ? Buffer.concat(t.data.map((s) => lengthPrefixed(s))) : dataBytes(t.data);
  return {
    name: t.name,
    dataType: t.dataType,
    dims: t.dims,
    units: t.data.length,
    digest: createHash('sha256').update(bytes).digest('hex'),
    // Not the external data's file name: the writer names it after the model file.
    storage: plain(t.storage.kind === 'external' ? { kind: t.storage.kind, props: t.storage.props } : t.storage),
    docString: t.docString ?? null,
    metadataProps: plain(t.metadataProps),
    segment: plain(t.segment),
  };
}

function lengthPrefixed(s: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(s.byteLength);
  return Buffer.concat([head, s]);
}

/** JSON-safe form of any IR leaf (bigint and Long as decimal strings, bytes as base64). */
function plain(x: unknown): Plain {
  if (x === undefined || x === null) return null;
  if (typeof x === 'bigint') return x.toString();
  if (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return x;
  if (x instanceof Uint8Array) return `b64:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64')}`;
  if (Array.isArray(x)) return x.map(plain);
  if (typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if ('low' in o && 'high' in o && 'unsigned' in o) return String(o);
    const out: { [k: string]: Plain } = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = plain(o[k]);
    return out;
  }
  throw new Error(`cannot canonicalize ${typeof x}`);
}

/** The path of the first difference between two models' canonical forms, or null when equal. */
export function diffModels(a: Model, b: Model): string | null {
  return diffPlain(canonicalModel(a), canonicalModel(b), 'model');
}

function diffPlain(a: Plain, b: Plain, path: string): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${JSON.stringify(a)?.slice(0, 80)} != ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = diffPlain((a as Record<string, Plain>)[k] ?? null, (b as Record<string, Plain>)[k] ?? null, `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
