/**
 * Training the small network once the optimizer's zero groups are settled (DHSPG once it has
 * reached the target): the groups are cut from a copy of the model, and every later step runs
 * the forward and backward pass on that copy's mirror. The optimizer keeps stepping the
 * full-shape master copies, so its state, checkpoints and the exported model stay those of the
 * full network. This trains the same function, up to float rounding: in the full network the
 * elements cut have zero gradients (they make or read a channel that is exactly zero), except
 * the zero groups' own parameters, which the optimizer holds at zero. (A Dropout behind a pruned
 * layer draws its masks for fewer channels: there the two differ by other draws of the same masks.)
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/samples.js';
import type { Model, Value } from '../ir/graph.js';
import { elementCount } from '../ir/tensor.js';
import type { Mirror } from '../mirror/mirror.js';
import { decodeModel } from '../onnx/read.js';
import { encodeModel } from '../onnx/write.js';
import { analyzeModel } from '../pipeline/analyze.js';
import { applyPruning, planPruning } from '../../passes/prune-groups.js';
import { removableGroups, zeroGroups } from '../../passes/select-groups.js';
import { Network, type NetworkRun } from './network.js';
import type { Parameter } from './optimizer.js';
import { ShardedStep } from './sharded-step.js';
import type { WorkerInit } from './shard-worker.js';
import { readBuffers, writeBuffers } from './shards.js';
import type { BatchGradients, MetricSums } from './step.js';

/** What the trainer tells its observers when it moves to the small network. */
export interface ShrinkReport {
  /** Optimizer steps done before the first step on the small network. */
  step: number;
  removedGroups: number;
  /** Trained parameters (elements) of the full and the small network. */
  fullParameters: number;
  smallParameters: number;
}

export interface ShrinkInput {
  model: Model;
  /** The full network; its master copies are the ones the optimizer steps. */
  full: Network;
  run: NetworkRun;
  /** ZIG ids that are zero and stay zero. */
  settled: readonly number[];
  shards: number;
  workers: number;
  workerInit: (small: Model, params: string[]) => WorkerInit;
}

/** Where a small network's array sits in the full one's: its elements' flat offsets (all of them when undefined). */
interface Placement {
  full: number;
  small: number;
  offsets?: Int32Array;
}

export class ShrunkNetwork {
  private constructor(
    private readonly network: Network,
    private readonly sharded: ShardedStep | undefined,
    private readonly fullParams: readonly Parameter[],
    private readonly params: readonly Placement[],
    private readonly buffers: readonly Placement[],
    readonly report: Omit<ShrinkReport, 'step'>,
  ) {}

  /**
   * The network without the settled groups that are exactly zero in the mirror's current weights,
   * or undefined when none can go or the pruned copy does not train the same variables.
   */
  static build(input: ShrinkInput): ShrunkNetwork | undefined {
    const encoded = encodeModel(input.model);
    if (encoded.external.size) return undefined;
    const copy = decodeModel(encoded.model);
    input.full.mirror.exportTo(copy);
    const { groups, facts } = analyzeModel(copy);
    const zero = new Set(zeroGroups(groups));
    const removed = removableGroups(groups, input.settled.filter((id) => zero.has(id)));
    if (removed.length === 0) return undefined;
    const plan = planPruning(groups, removed);
    const cutsByName = new Map([...plan.cuts].map(([v, byAxis]) => [v.name, { dims: v.constant!.dims, byAxis }]));
    applyPruning(copy, facts, plan);
    const network = Network.build(copy, input.run);
    try {
      const fullParams = input.full.params;
      const fullBuffers = [...input.full.mirror.buffers];
      const params = placements(sized(network.trained), indexed(input.full.trained), cutsByName);
      const buffers = placements(sized(network.mirror.buffers), indexed(input.full.mirror.buffers), cutsByName);
      if (!params || !buffers || params.length !== fullParams.length || buffers.length !== fullBuffers.length) {
        network.dispose();
        return undefined;
      }
      const names = [...network.trained.keys()].map((v) => v.name);
      const sharded =
        input.shards > 1
          ? new ShardedStep(network.step, network.mirror, input.shards, input.workers, () => input.workerInit(copy, names))
          : undefined;
      const count = (list: readonly { data: Float32Array }[]) => list.reduce((a, p) => a + p.data.length, 0);
      return new ShrunkNetwork(network, sharded, fullParams, params, buffers, {
        removedGroups: removed.length,
        fullParameters: count(fullParams),
        smallParameters: count(network.params),
      });
    } catch (e) {
      network.dispose();
      throw e;
    }
  }

  /** The gradients of the full network's parameters (zero where the small network has none). */
  async gradients(batch: Batch, dropoutSeed: number): Promise<BatchGradients> {
    const g = this.sharded ? await this.sharded.gradients(batch, dropoutSeed) : this.network.step.gradients(batch, dropoutSeed);
    const grads = this.fullParams.map((p) => new Float32Array(p.data.length));
    for (const { full, small, offsets } of this.params) scatter(g.grads[small], grads[full], offsets);
    return { ...g, grads };
  }

  /** Writes the full network's master copies into the small network's variables. */
  upload(): void {
    for (const { full, small, offsets } of this.params) gather(this.fullParams[full].data, this.network.params[small].data, offsets);
    this.network.step.upload();
  }

  evaluate(batch: Batch): { lossSum: number; metrics: MetricSums } {
    return this.network.step.evaluate(batch);
  }

  /** Writes the small network's BatchNorm statistics into `full`'s (the full network's mirror). */
  writeBuffersTo(full: Mirror): void {
    const into = readBuffers(full);
    const from = readBuffers(this.network.mirror);
    for (const { full: f, small, offsets } of this.buffers) scatter(from[small], into[f], offsets);
    writeBuffers(full, into);
  }

  async dispose(): Promise<void> {
    await this.sharded?.dispose();
    this.network.dispose();
  }
}

/**
 * Placements of the small network's arrays (an initializer and its element count), found by name
 * among the full network's (element counts too); undefined if one is missing or does not fit its cut.
 */
function placements(
  small: readonly (readonly [Value, number])[],
  full: ReadonlyMap<string, { index: number; size: number }>,
  cuts: ReadonlyMap<string, { dims: readonly number[]; byAxis: ReadonlyMap<number, ReadonlySet<number>> }>,
): Placement[] | undefined {
  const out: Placement[] = [];
  for (const [index, [v, size]] of small.entries()) {
    const target = full.get(v.name);
    if (target === undefined) return undefined;
    const cut = cuts.get(v.name);
    const offsets = cut && keptOffsets(cut.dims, cut.byAxis);
    if (size !== (offsets?.length ?? target.size)) return undefined;
    out.push({ full: target.index, small: index, offsets });
  }
  return out;
}

function sized(variables: ReadonlyMap<Value, tf.Variable>): (readonly [Value, number])[] {
  return [...variables].map(([v, variable]) => [v, variable.size] as const);
}

function indexed(variables: ReadonlyMap<Value, tf.Variable>): Map<string, { index: number; size: number }> {
  return new Map([...variables].map(([v, variable], index) => [v.name, { index, size: variable.size }]));
}

/** Flat offsets, in a tensor of `dims`, of the elements that no cut removes. */
export function keptOffsets(dims: readonly number[], cutsByAxis: ReadonlyMap<number, ReadonlySet<number>>): Int32Array {
  const kept: number[] = [];
  const index = new Array<number>(dims.length).fill(0);
  for (let flat = 0; flat < elementCount(dims); flat++) {
    if (index.every((i, axis) => !cutsByAxis.get(axis)?.has(i))) kept.push(flat);
    for (let axis = dims.length - 1; axis >= 0 && ++index[axis] === dims[axis]; axis--) index[axis] = 0;
  }
  return Int32Array.from(kept);
}

function scatter(small: Float32Array, full: Float32Array, offsets: Int32Array | undefined): void {
  if (!offsets) return full.set(small);
  for (let k = 0; k < offsets.length; k++) full[offsets[k]] = small[k];
}

function gather(full: Float32Array, small: Float32Array, offsets: Int32Array | undefined): void {
  if (!offsets) return small.set(full);
  for (let k = 0; k < offsets.length; k++) small[k] = full[offsets[k]];
}
