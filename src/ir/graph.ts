import { deepCopy } from './copy.js';
import type { Tensor } from './tensor.js';
import type { KeyValue, TypeInfo } from './types.js';

/**
 * A decoded protobuf message that the IR carries through unchanged because no pass
 * reads it (sparse initializers, functions, training info, device configurations).
 */
export type RawProto = Record<string, unknown>;

export type Attribute = { name: string; docString?: string; refAttrName?: string } & (
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'string'; value: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse_tensor'; value: RawProto }
  | { type: 'type_proto'; value: TypeInfo }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: bigint[] }
  | { type: 'strings'; value: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensors'; value: RawProto[] }
  | { type: 'type_protos'; value: TypeInfo[] }
  | { type: 'undefined'; value: null }
);

/** Extra fields of a ValueInfoProto besides name and type. */
export interface ValueInfoExtras {
  docString?: string;
  metadataProps?: KeyValue[];
}

/**
 * A named value: a graph input, an initializer (`constant` set), or a node output.
 * `producer` and `consumers` are kept in sync by Node and Graph; never assign them directly.
 */
export class Value {
  type?: TypeInfo;
  info?: ValueInfoExtras;
  constant?: Tensor;
  producer: Node | null = null;
  /** One entry per use: a node that reads this value twice appears twice. */
  readonly consumers: Node[] = [];

  constructor(
    public name: string,
    readonly graph: Graph,
  ) {}

  get isConstant(): boolean {
    return this.constant !== undefined;
  }
}

export class Node {
  name = '';
  domain = '';
  overload?: string;
  docString?: string;
  metadataProps?: KeyValue[];
  deviceConfigurations?: RawProto[];
  readonly attributes = new Map<string, Attribute>();
  /** `null` marks an omitted optional input or output (an empty name in ONNX). */
  readonly inputs: (Value | null)[] = [];
  readonly outputs: (Value | null)[] = [];

  constructor(
    public opType: string,
    readonly graph: Graph,
  ) {}

  /** Replace input `index` (appending empty slots as needed), keeping consumer links in sync. */
  setInput(index: number, value: Value | null): void {
    while (this.inputs.length <= index) this.inputs.push(null);
    const old = this.inputs[index];
    if (old) removeOne(old.consumers, this);
    this.inputs[index] = value;
    if (value) value.consumers.push(this);
  }

  setOutput(index: number, value: Value | null): void {
    while (this.outputs.length <= index) this.outputs.push(null);
    const old = this.outputs[index];
    if (old && old.producer === this) old.producer = null;
    this.outputs[index] = value;
    if (value) value.producer = this;
  }

  /** Input `index`, or undefined when it is absent or omitted. */
  input(index: number): Value | undefined {
    return this.inputs[index] ?? undefined;
  }

  /** Subgraphs held in attributes (If/Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const graphs: Graph[] = [];
    for (const attr of this.attributes.values()) {
      if (attr.type === 'graph') graphs.push(attr.value);
      else if (attr.type === 'graphs') graphs.push(...attr.value);
    }
    return graphs;
  }

  /** A short label for messages: `Conv 'name'` or `Conv #index`. */
  label(): string {
    return this.name ? `${this.opType} '${this.name}'` : `${this.opType} #${this.graph.nodes.indexOf(this)}`;
  }
}

export class Graph {
  name = '';
  docString?: string;
  metadataProps?: KeyValue[];
  inputs: Value[] = [];
  outputs: Value[] = [];
  /** Values that have a value_info entry, in file order. */
  valueInfo: Value[] = [];
  /** Values holding initializers, in file order. */
  initializers: Value[] = [];
  nodes: Node[] = [];
  sparseInitializers: RawProto[] = [];
  quantizationAnnotation: RawProto[] = [];
  private readonly values = new Map<string, Value>();

  /** `parent` is the enclosing graph of an If/Loop/Scan body, whose values the body may read. */
  constructor(readonly parent?: Graph) {}

  /** The value named `name` in this graph's scope, or in an enclosing graph's. */
  lookup(name: string): Value | undefined {
    return this.values.get(name) ?? this.parent?.lookup(name);
  }

  /** The value named `name` in this graph itself, created if it does not exist. */
  ensureValue(name: string): Value {
    let v = this.values.get(name);
    if (!v) {
      v = new Value(name, this);
      this.values.set(name, v);
    }
    return v;
  }

  /** Rename a value of this graph (the new name must be free in its scope). */
  rename(v: Value, name: string): void {
    if (this.lookup(name)) throw new Error(`cannot rename '${v.name}': '${name}' already exists`);
    this.values.delete(v.name);
    v.name = name;
    this.values.set(name, v);
  }

  /** A fresh value whose name is unique in this graph, starting from `base`. */
  newValue(base: string): Value {
    let name = base;
    for (let i = 1; this.lookup(name); i++) name = `${base}_${i}`;
    return this.ensureValue(name);
  }

  /** Every value of this graph's own scope. */
  allValues(): IterableIterator<Value> {
    return this.values.values();
  }

  addInitializer(value: Value, tensor: Tensor): void {
    value.constant = tensor;
    if (!this.initializers.includes(value)) this.initializers.push(value);
  }

  /** Append a node with the given inputs and outputs, linked both ways. */
  addNode(opType: string, inputs: (Value | null)[], outputs: (Value | null)[], at = this.nodes.length): Node {
    const node = new Node(opType, this);
    inputs.forEach((v, i) => node.setInput(i, v));
    outputs.forEach((v, i) => node.setOutput(i, v));
    this.nodes.splice(at, 0, node);
    return node;
  }

  /** Unlink and drop a node; its outputs lose their producer. */
  removeNode(node: Node): void {
    node.inputs.forEach((_, i) => node.setInput(i, null));
    node.outputs.forEach((_, i) => node.setOutput(i, null));
    removeOne(this.nodes, node);
  }

  /** Redirect every use of `from` (node inputs and graph outputs, also inside subgraphs) to `to`. */
  replaceAllUses(from: Value, to: Value): void {
    for (const consumer of [...from.consumers]) {
      consumer.inputs.forEach((v, i) => {
        if (v === from) consumer.setInput(i, to);
      });
    }
    this.outputs = this.outputs.map((v) => (v === from ? to : v));
  }

  /**
   * Remove nodes whose outputs nothing uses and initializers nothing reads.
   * Graph inputs and outputs are kept.
   */
  cleanup(): void {
    const keep = new Set<Value>(this.outputs);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      const used = node.outputs.some((v) => v && (keep.has(v) || v.consumers.length > 0));
      if (!used) this.removeNode(node);
    }
    this.initializers = this.initializers.filter((v) => {
      const used = v.consumers.length > 0 || keep.has(v) || this.inputs.includes(v);
      if (!used) this.forget(v);
      return used;
    });
    this.valueInfo = this.valueInfo.filter((v) => v.producer || v.constant || this.inputs.includes(v));
  }

  /**
   * Order nodes so every node comes after the producers of its inputs (also the producers of
   * values its subgraphs read). Throws if the graph has a cycle.
   */
  toposort(): void {
    const order = topologicalOrder(this);
    if (!order.ok) throw new Error(`graph '${this.name}' has a cycle through ${order.cycle.label()}`);
    this.nodes = order.nodes;
  }

  /**
   * A deep copy of this graph as a subgraph of `parent` (undefined for a main graph); `map`
   * receives where each value and node went, and already holds the enclosing graphs' values.
   * Consumers keep their order, so an analysis walks the copy as it walks this graph.
   */
  copyInto(parent: Graph | undefined, map: CloneMap): Graph {
    const copy = new Graph(parent);
    copyFields(copy, this, ['name', 'docString', 'metadataProps', 'sparseInitializers', 'quantizationAnnotation']);
    for (const v of this.values.values()) {
      const c = copy.ensureValue(v.name);
      c.type = deepCopy(v.type);
      c.info = deepCopy(v.info);
      c.constant = deepCopy(v.constant);
      map.values.set(v, c);
    }
    const of = (v: Value): Value => {
      const c = map.values.get(v);
      if (!c) throw new Error(`cannot copy graph '${this.name}': value '${v.name}' belongs to no enclosing graph`);
      return c;
    };
    copy.inputs = this.inputs.map(of);
    copy.outputs = this.outputs.map(of);
    copy.valueInfo = this.valueInfo.map(of);
    copy.initializers = this.initializers.map(of);
    for (const node of this.nodes) {
      const n = new Node(node.opType, copy);
      copyFields(n, node, ['name', 'domain', 'overload', 'docString', 'metadataProps', 'deviceConfigurations']);
      node.inputs.forEach((v, i) => n.setInput(i, v && of(v)));
      node.outputs.forEach((v, i) => n.setOutput(i, v && of(v)));
      for (const [name, attr] of node.attributes) n.attributes.set(name, copyAttribute(attr, copy, map));
      copy.nodes.push(n);
      map.nodes.set(node, n);
    }
    for (const v of this.values.values()) {
      const consumers = v.consumers.map((n) => {
        const c = map.nodes.get(n);
        if (!c) throw new Error(`cannot copy graph '${this.name}': '${v.name}' is read by ${n.label()}, which is in no graph`);
        return c;
      });
      map.values.get(v)!.consumers.splice(0, Infinity, ...consumers);
    }
    return copy;
  }

  private forget(v: Value): void {
    if (v.consumers.length === 0 && !v.producer) this.values.delete(v.name);
  }
}

/** Where each value and node of a graph (and of its subgraphs) went in a copy. */
export interface CloneMap {
  values: Map<Value, Value>;
  nodes: Map<Node, Node>;
}

export interface ModelClone extends CloneMap {
  model: Model;
}

/** Deep copies of `from`'s `fields` in `to`. */
function copyFields<T>(to: T, from: T, fields: readonly (keyof T)[]): void {
  for (const f of fields) to[f] = deepCopy(from[f]);
}

function copyAttribute(attr: Attribute, graph: Graph, map: CloneMap): Attribute {
  switch (attr.type) {
    case 'graph':
      return { ...attr, value: attr.value.copyInto(graph, map) };
    case 'graphs':
      return { ...attr, value: attr.value.map((g) => g.copyInto(graph, map)) };
    default:
      return deepCopy(attr);
  }
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export class Model {
  irVersion = 8;
  opsetImports: OpsetImport[] = [];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: bigint;
  docString?: string;
  metadataProps?: KeyValue[];
  trainingInfo: RawProto[] = [];
  functions: RawProto[] = [];
  configuration: RawProto[] = [];

  constructor(public graph: Graph) {}

  /** A deep copy that shares nothing with this model, and where each value and node went in it. */
  clone(): ModelClone {
    const map: CloneMap = { values: new Map(), nodes: new Map() };
    const model = new Model(this.graph.copyInto(undefined, map));
    copyFields(model, this, [
      'irVersion',
      'opsetImports',
      'producerName',
      'producerVersion',
      'domain',
      'modelVersion',
      'docString',
      'metadataProps',
      'trainingInfo',
      'functions',
      'configuration',
    ]);
    return { model, ...map };
  }

  /** Opset version imported for `domain` ('' and 'ai.onnx' are the same domain). */
  opset(domain = ''): number | undefined {
    const norm = (d: string) => (d === 'ai.onnx' ? '' : d);
    return this.opsetImports.find((o) => norm(o.domain) === norm(domain))?.version;
  }
}

/** Values read by a node, including outer-scope values read inside its subgraphs. */
export function nodeReads(node: Node): Value[] {
  const reads = node.inputs.filter((v): v is Value => v !== null);
  for (const sub of node.subgraphs()) {
    for (const inner of sub.nodes) {
      for (const v of nodeReads(inner)) if (v.graph !== sub) reads.push(v);
    }
    for (const v of sub.outputs) if (v.graph !== sub) reads.push(v);
  }
  return reads;
}

type TopoResult = { ok: true; nodes: Node[] } | { ok: false; cycle: Node };

/** Kahn's algorithm, stable with respect to the current node order. */
export function topologicalOrder(graph: Graph): TopoResult {
  const indegree = new Map<Node, number>();
  const dependents = new Map<Node, Node[]>();
  for (const node of graph.nodes) {
    let deg = 0;
    for (const v of nodeReads(node)) {
      const producer = v.producer?.graph === graph ? v.producer : null;
      if (producer && producer !== node) {
        deg++;
        const list = dependents.get(producer) ?? [];
        list.push(node);
        dependents.set(producer, list);
      } else if (producer === node) {
        return { ok: false, cycle: node };
      }
    }
    indegree.set(node, deg);
  }
  const ready = graph.nodes.filter((n) => indegree.get(n) === 0);
  const out: Node[] = [];
  for (let i = 0; i < ready.length; i++) {
    const node = ready[i];
    out.push(node);
    for (const d of dependents.get(node) ?? []) {
      const left = indegree.get(d)! - 1;
      indegree.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (out.length !== graph.nodes.length) {
    const stuck = graph.nodes.find((n) => indegree.get(n)! > 0)!;
    return { ok: false, cycle: stuck };
  }
  return { ok: true, nodes: out };
}

function removeOne<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
