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
import { keptOffsets, type AxisCuts } from '../ir/tensor-slice.js';
import type { Mirror } from '../mirror/mirror.js';
import type { AnalyzedModel } from '../pipeline/analyze.js';
import { inferShapes } from '../../passes/infer-shapes.js';
import { applyPruning, planForClone, planPruning } from '../../passes/prune-groups.js';
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
  /** The full model and its group analysis, whose ZIG ids `settled` names. */
  analyzed: Pick<AnalyzedModel, 'model' | 'groups'>;
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
    const { model, groups } = input.analyzed;
    const { model: copy, values } = model.clone();
    input.full.mirror.exportTo(copy);
    const zero = new Set(zeroGroups(groups, (v) => values.get(v)!.constant!));
    const removed = removableGroups(groups, input.settled.filter((id) => zero.has(id)));
    if (removed.length === 0) return undefined;
    const plan = planForClone(planPruning(groups, removed), values);
    const cuts = new Map([...plan.cuts].map(([v, byAxis]) => [v, { dims: v.constant!.dims, byAxis }]));
    applyPruning(copy, inferShapes(copy), plan);
    const network = Network.build(copy, input.run);
    try {
      const fullParams = input.full.params;
      const fullBuffers = [...input.full.mirror.buffers];
      const params = placements(sized(network.trained), indexed(input.full.trained, values), cuts);
      const buffers = placements(sized(network.mirror.buffers), indexed(input.full.mirror.buffers, values), cuts);
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
 * Placements of the small network's arrays (an initializer of the pruned copy and its element
 * count) among the full network's, found through the copy's values (element counts too);
 * undefined if one is missing or does not fit its cut.
 */
function placements(
  small: readonly (readonly [Value, number])[],
  full: ReadonlyMap<Value, { index: number; size: number }>,
  cuts: ReadonlyMap<Value, { dims: readonly number[]; byAxis: AxisCuts }>,
): Placement[] | undefined {
  const out: Placement[] = [];
  for (const [index, [v, size]] of small.entries()) {
    const target = full.get(v);
    if (target === undefined) return undefined;
    const cut = cuts.get(v);
    const offsets = cut && keptOffsets(cut.dims, cut.byAxis);
    if (size !== (offsets?.length ?? target.size)) return undefined;
    out.push({ full: target.index, small: index, offsets });
  }
  return out;
}

function sized(variables: ReadonlyMap<Value, tf.Variable>): (readonly [Value, number])[] {
  return [...variables].map(([v, variable]) => [v, variable.size] as const);
}

/** The full network's `variables`, their positions and sizes, keyed by where `copies` put their initializers. */
function indexed(variables: ReadonlyMap<Value, tf.Variable>, copies: ReadonlyMap<Value, Value>): Map<Value, { index: number; size: number }> {
  const out = new Map<Value, { index: number; size: number }>();
  [...variables].forEach(([v, variable], index) => {
    const copy = copies.get(v);
    if (copy) out.set(copy, { index, size: variable.size });
  });
  return out;
}

function scatter(small: Float32Array, full: Float32Array, offsets: Int32Array | undefined): void {
  if (!offsets) return full.set(small);
  for (let k = 0; k < offsets.length; k++) full[offsets[k]] = small[k];
}

function gather(full: Float32Array, small: Float32Array, offsets: Int32Array | undefined): void {
  if (!offsets) return small.set(full);
  for (let k = 0; k < offsets.length; k++) small[k] = full[offsets[k]];
}
