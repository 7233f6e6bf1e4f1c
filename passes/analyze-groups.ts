/**
 * Pass: zero-invariant group (ZIG) analysis (docs/zero-invariant-groups.md).
 *
 * Input: a valid Model, nodes in topological order, with static shape facts.
 * Output: a GroupAnalysis — every channel element of every tracked value, unioned into ZIGs; each
 * ZIG's parameter slices, whether it is prunable and why not; ZIGs gathered into group sets.
 * The IR is not changed.
 *
 * Channels are tracked per element (one id per channel of each value) in a union-find, so
 * offsets (Concat/Split/Slice), block and strided maps (Flatten into Gemm), group ties and
 * attention heads all reduce to unions of ids. Cost: O((V + E) · C · α) for C channels per value.
 * What an op does to channels comes from its op-table entry; an op without a channel rule
 * pins every channel it touches.
 */
import { OtocError } from '../src/errors.js';
import { Graph, Model, Node, Value, nodeReads } from '../src/ir/graph.js';
import { MAX_TRACKED_CHANNELS } from '../src/limits.js';
import { ChannelContext, GROUP_VECTOR_KINDS, Layout, SliceKind, layoutSize } from '../src/ops/channel-rules.js';
import type { InferredNode } from '../src/ops/spec.js';
import { opSpec } from '../src/ops/table.js';
import { UnionFind } from '../src/util/union-find.js';

export interface SliceRef {
  kind: SliceKind;
  /** The initializer that is sliced. */
  param: Value;
  axis: number;
  index: number;
  /** The node whose rule attached the slice. */
  node: Node;
}

/** One zero-invariant group: the channel elements that are pruned together, and their slices. */
export interface Zig {
  id: number;
  elements: number[];
  slices: SliceRef[];
  /** Why the group cannot be pruned; empty when it can. */
  reasons: string[];
  hasStem: boolean;
  prunable: boolean;
}

/** ZIGs that share stems or layouts: e.g. the output channels of one conv, or of a residual chain. */
export interface GroupSet {
  id: number;
  zigs: Zig[];
  stems: Node[];
  values: Value[];
}

export interface GroupAnalysis {
  model: Model;
  layouts: Map<Value, Layout>;
  zigs: Zig[];
  groupSets: GroupSet[];
  /** The ZIG id of channel element `e`. */
  zigOf(e: number): number;
}

export type FactsOf = (node: Node) => InferredNode;

export function analyzeGroups(model: Model, factsOf: FactsOf): GroupAnalysis {
  return new GroupAnalyzer(model, factsOf).run();
}

class GroupAnalyzer {
  private readonly elements = new UnionFind();
  /** Coarse union-find over layouts: group sets. */
  private readonly layoutSets = new UnionFind();
  private readonly layoutList: { value: Value; layout: Layout }[] = [];
  private readonly ownerOf: number[] = [];
  private readonly zero: boolean[] = [];
  private readonly layouts = new Map<Value, Layout>();
  private readonly pins = new Map<number, string[]>();
  private readonly slices = new Map<string, { e: number; ref: SliceRef }[]>();
  /** Nodes that attached slices of each initializer: any other reader pins them. */
  private readonly understoodReaders = new Map<Value, Set<Node>>();

  constructor(
    private readonly model: Model,
    private readonly factsOf: FactsOf,
  ) {}

  run(): GroupAnalysis {
    const graph = this.model.graph;
    for (const node of graph.nodes) this.visit(node);
    for (const v of graph.outputs) this.pinValue(v, `reaches graph output '${v.name}'`);
    this.pinSharedReaders(graph);
    return this.collect();
  }

  private visit(node: Node): void {
    const outerReads = node.subgraphs().length ? nodeReads(node).filter((v) => !node.inputs.includes(v)) : [];
    for (const v of outerReads) this.pinValue(v, `read inside a subgraph of ${node.label()}`);
    const rule = opSpec(node.opType, node.domain)?.channels;
    if (!rule) {
      node.inputs.forEach((v) => v && this.pinValue(v, `${node.label()} is not understood by the channel analysis`));
      return;
    }
    rule(this.context(node));
  }

  private context(node: Node): ChannelContext {
    const facts = this.factsOf(node);
    return {
      node,
      facts,
      inputLayout: (i) => {
        const v = node.inputs[i];
        return v ? this.layouts.get(v) : undefined;
      },
      create: (index, axes, sizes, zero) => {
        const out = node.outputs[index];
        if (!out) throw new Error(`${node.label()} has no output ${index}`);
        return this.createLayout(out, axes, sizes, zero);
      },
      union: (a, b) => this.union(a, b),
      isZero: (e) => this.zero[e],
      attach: (kind, e, input, axis, index) => this.attach(node, kind, e, input, axis, index),
      pin: (e, reason) => this.pin(e, reason),
    };
  }

  private createLayout(v: Value, axes: number[], sizes: number[], zero: (k: number) => boolean): Layout {
    if (this.layouts.has(v)) throw new Error(`channel layout of '${v.name}' defined twice`);
    const n = sizes.reduce((a, b) => a * b, 1);
    if (!(this.elements.length + n <= MAX_TRACKED_CHANNELS)) {
      throw new OtocError(
        `the group analysis would track more than otoc's limit of ${MAX_TRACKED_CHANNELS} channels (at '${v.name}', [${sizes}] channels)`,
      );
    }
    const base = this.elements.add(n);
    const layoutId = this.layoutSets.add(1);
    const layout: Layout = { axes, sizes, base };
    this.layoutList.push({ value: v, layout });
    for (let k = 0; k < n; k++) {
      this.ownerOf[base + k] = layoutId;
      this.zero[base + k] = zero(k);
    }
    this.layouts.set(v, layout);
    return layout;
  }

  private union(a: number, b: number): void {
    this.elements.union(a, b);
    this.layoutSets.union(this.ownerOf[a], this.ownerOf[b]);
  }

  private attach(node: Node, kind: SliceKind, e: number, input: number, axis: number, index: number): void {
    const param = node.inputs[input];
    if (!param?.constant) throw new Error(`${node.label()}: input ${input} is not an initializer and cannot be sliced`);
    if (kind === 'consumer' && !this.zero[e]) {
      this.pin(e, `channel is read by '${param.name}' of ${node.label()} but is not zero when its group is`);
    }
    const readers = this.understoodReaders.get(param) ?? new Set<Node>();
    readers.add(node);
    this.understoodReaders.set(param, readers);
    // The same slice attached twice (weight sharing) ties the elements it goes with.
    const key = `${param.name}\u0000${axis}\u0000${index}`;
    const list = this.slices.get(key) ?? [];
    if (list.length) this.union(list[0].e, e);
    list.push({ e, ref: { kind, param, axis, index, node } });
    this.slices.set(key, list);
  }

  private pin(e: number, reason: string): void {
    const list = this.pins.get(e) ?? [];
    if (!list.includes(reason)) list.push(reason);
    this.pins.set(e, list);
  }

  private pinValue(v: Value, reason: string): void {
    const l = this.layouts.get(v);
    if (l) for (let k = 0; k < layoutSize(l); k++) this.pin(l.base + k, reason);
  }

  /** A sliced initializer that some other node reads in a way no rule described cannot be sliced. */
  private pinSharedReaders(graph: Graph): void {
    for (const [param, readers] of this.understoodReaders) {
      const other = param.consumers.find((n) => !readers.has(n)) ?? (graph.outputs.includes(param) ? null : undefined);
      if (other === undefined) continue;
      const reason =
        other === null ? `weight '${param.name}' is a graph output` : `weight '${param.name}' is also read by ${other.label()}`;
      for (const list of this.slices.values()) for (const s of list) if (s.ref.param === param) this.pin(s.e, reason);
    }
  }

  private collect(): GroupAnalysis {
    const byRoot = new Map<number, Zig>();
    const zigOfRoot = (root: number): Zig => {
      let z = byRoot.get(root);
      if (!z) {
        z = { id: byRoot.size, elements: [], slices: [], reasons: [], hasStem: false, prunable: false };
        byRoot.set(root, z);
      }
      return z;
    };
    for (let e = 0; e < this.elements.length; e++) zigOfRoot(this.elements.find(e)).elements.push(e);
    const stemNodes = new Map<Zig, Set<Node>>();
    for (const list of this.slices.values()) {
      // A slice attached by several nodes (weight sharing) is cut once but names every node.
      const z = zigOfRoot(this.elements.find(list[0].e));
      z.slices.push(list[0].ref);
      for (const { ref } of list) {
        if (ref.kind !== 'stem') continue;
        z.hasStem = true;
        stemNodes.set(z, (stemNodes.get(z) ?? new Set<Node>()).add(ref.node));
      }
    }
    for (const [e, reasons] of this.pins) {
      const z = zigOfRoot(this.elements.find(e));
      for (const r of reasons) if (!z.reasons.includes(r)) z.reasons.push(r);
    }
    const zigs = [...byRoot.values()];
    for (const z of zigs) {
      if (!z.hasStem && z.reasons.length === 0) z.reasons.push('no weight creates this channel');
      z.prunable = z.reasons.length === 0;
    }

    const sets = new Map<number, GroupSet>();
    for (const z of zigs) {
      const setRoot = this.layoutSets.find(this.ownerOf[z.elements[0]]);
      let set = sets.get(setRoot);
      if (!set) {
        set = { id: sets.size, zigs: [], stems: [], values: [] };
        sets.set(setRoot, set);
      }
      set.zigs.push(z);
      for (const n of stemNodes.get(z) ?? []) if (!set.stems.includes(n)) set.stems.push(n);
    }
    for (const { value, layout } of this.layoutList) {
      sets.get(this.layoutSets.find(this.ownerOf[layout.base]))?.values.push(value);
    }
    const zigIds = new Map([...byRoot].map(([root, z]) => [root, z.id]));
    return {
      model: this.model,
      layouts: this.layouts,
      zigs,
      groupSets: [...sets.values()],
      zigOf: (e) => zigIds.get(this.elements.find(e))!,
    };
  }
}

export function isGroupVector(s: SliceRef): boolean {
  return GROUP_VECTOR_KINDS.includes(s.kind);
}
