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
import type { Batch } from '../data/index.js';
import type { Model, Value } from '../ir/graph.js';
import { keptOffsets, type AxisCuts } from '../ir/tensor-slice.js';
import { buildMirror, type Mirror } from '../mirror/mirror.js';
import type { GroupAnalysis } from '../../passes/analyze-groups.js';
import { inferShapes } from '../../passes/infer-shapes.js';
import { applyPruning, planForClone, planPruning } from '../../passes/prune-groups.js';
import { removableGroups, zeroGroups } from '../../passes/select-groups.js';
import type { ClassifierInterface } from './classifier.js';
import type { Parameter } from './optimizer.js';
import { ShardedStep } from './sharded-step.js';
import type { WorkerInit } from './shard-worker.js';
import { readBuffers, writeBuffers } from './shards.js';
import { TrainingStep, masterCopies, type BatchGradients } from './step.js';

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
  /** The group analysis of `model`, whose ZIG ids `settled` names. */
  groups: GroupAnalysis;
  mirror: Mirror;
  /** The full network's master copies, in the order of the gradients the optimizer takes. */
  params: readonly Parameter[];
  io: ClassifierInterface;
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
    private readonly mirror: Mirror,
    private readonly step: TrainingStep,
    private readonly sharded: ShardedStep | undefined,
    private readonly fullParams: readonly Parameter[],
    private readonly params: readonly Placement[],
    private readonly buffers: readonly Placement[],
    readonly report: Omit<ShrinkReport, 'step'>,
  ) {}

  /**
   * The network without the settled groups that are exactly zero in the mirror's current weights,
   * or undefined when none can go or the pruned copy does not train the same parameters.
   */
  static build(input: ShrinkInput): ShrunkNetwork | undefined {
    const { model: copy, values } = input.model.clone();
    input.mirror.exportTo(copy);
    const inCopy = (v: Value) => values.get(v)!;
    const zero = new Set(zeroGroups(input.groups, (v) => inCopy(v).constant!));
    const removed = removableGroups(input.groups, input.settled.filter((id) => zero.has(id)));
    if (removed.length === 0) return undefined;
    const plan = planForClone(planPruning(input.groups, removed), values);
    const cuts = new Map([...plan.cuts].map(([v, byAxis]) => [v, { dims: v.constant!.dims, byAxis }]));
    applyPruning(copy, inferShapes(copy), plan);
    const mirror = buildMirror(copy);
    try {
      const fullParamIndex = new Map(input.params.map((p, i) => [inCopy(p.value), i]));
      const fullBuffers = [...input.mirror.buffers.keys()];
      const fullBufferIndex = new Map(fullBuffers.map((v, i) => [inCopy(v), i]));
      const params = placements([...mirror.params.keys()], fullParamIndex, cuts);
      const buffers = placements([...mirror.buffers.keys()], fullBufferIndex, cuts);
      if (!params || !buffers || params.length !== input.params.length || buffers.length !== fullBuffers.length) {
        mirror.dispose();
        return undefined;
      }
      const smallParams = masterCopies(mirror.params);
      const step = new TrainingStep(mirror, input.io, mirror.params, smallParams, { lossTerms: [] });
      const names = [...mirror.params.keys()].map((v) => v.name);
      const sharded =
        input.shards > 1 ? new ShardedStep(step, mirror, input.shards, input.workers, () => input.workerInit(copy, names)) : undefined;
      const count = (list: readonly { data: Float32Array }[]) => list.reduce((a, p) => a + p.data.length, 0);
      return new ShrunkNetwork(mirror, step, sharded, input.params, params, buffers, {
        removedGroups: removed.length,
        fullParameters: count(input.params),
        smallParameters: count(smallParams),
      });
    } catch (e) {
      mirror.dispose();
      throw e;
    }
  }

  /** The gradients of the full network's parameters (zero where the small network has none). */
  async gradients(batch: Batch, dropoutSeed: number): Promise<BatchGradients> {
    const g = this.sharded ? await this.sharded.gradients(batch, dropoutSeed) : this.step.gradients(batch, dropoutSeed);
    const grads = this.fullParams.map((p) => new Float32Array(p.data.length));
    for (const { full, small, offsets } of this.params) scatter(g.grads[small], grads[full], offsets);
    return { ...g, grads };
  }

  /** Writes the full network's master copies into the small network's variables. */
  upload(): void {
    for (const { full, small, offsets } of this.params) gather(this.fullParams[full].data, this.step.params[small].data, offsets);
    this.step.upload();
  }

  evaluate(batch: Batch): { lossSum: number; correct: number } {
    return this.step.evaluate(batch);
  }

  /** Writes the small network's BatchNorm statistics into `full`'s (the full network's mirror). */
  writeBuffersTo(full: Mirror): void {
    const into = readBuffers(full);
    const from = readBuffers(this.mirror);
    for (const { full: f, small, offsets } of this.buffers) scatter(from[small], into[f], offsets);
    writeBuffers(full, into);
  }

  async dispose(): Promise<void> {
    await this.sharded?.dispose();
    this.mirror.dispose();
  }
}

/**
 * Placements of the small network's `values` (the pruned copy's) among the full network's,
 * indexed by their copies in `fullIndex`; undefined if one is missing.
 */
function placements(
  values: readonly Value[],
  fullIndex: ReadonlyMap<Value, number>,
  cuts: ReadonlyMap<Value, { dims: readonly number[]; byAxis: AxisCuts }>,
): Placement[] | undefined {
  const out: Placement[] = [];
  for (const [small, v] of values.entries()) {
    const full = fullIndex.get(v);
    if (full === undefined) return undefined;
    const cut = cuts.get(v);
    out.push({ full, small, offsets: cut && keptOffsets(cut.dims, cut.byAxis) });
  }
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
