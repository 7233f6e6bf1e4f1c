/**
 * One network that computes gradients: a model's mirror with the method's hooks, the objective
 * and the training step. The trainer builds one for the full model, the small-network move one
 * for the pruned copy, and every worker thread one of its own, all the same way.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model, Value } from '../ir/graph.js';
import type { MethodPlugin, MethodUse, NetworkHooks } from '../methods/method.js';
import { buildMirror, type Mirror } from '../mirror/mirror.js';
import { buildObjective, type ObjectivePlugin, type ObjectiveUse } from '../objectives/objective.js';
import { loadPlugin, pluginRef, type PluginRef } from '../plugins.js';
import type { Parameter } from './optimizer.js';
import { TrainingStep, masterCopies } from './step.js';

/** The plugins a network runs: the method (for its hooks) and the objectives. */
export interface NetworkRun {
  method: MethodUse;
  objectives: readonly ObjectiveUse[];
}

/** A NetworkRun as a worker thread receives it. */
export interface NetworkRef {
  method: PluginRef;
  objectives: (PluginRef & { weight: number })[];
}

export function networkRef(run: NetworkRun): NetworkRef {
  return {
    method: pluginRef(run.method),
    objectives: run.objectives.map((o) => ({ ...pluginRef(o), weight: o.weight ?? 1 })),
  };
}

/** The NetworkRun a reference names, its plugins loaded from their modules. */
export async function loadNetworkRun(ref: NetworkRef): Promise<NetworkRun> {
  return {
    method: (await loadPlugin<MethodPlugin>(ref.method)) as MethodUse,
    objectives: await Promise.all(ref.objectives.map(async (o) => ({ ...(await loadPlugin<ObjectivePlugin>(o)), weight: o.weight }))),
  };
}

export class Network {
  private constructor(
    readonly mirror: Mirror,
    readonly hooks: NetworkHooks,
    /** The variables trained, keyed by the initializer each drives. */
    readonly trained: Map<Value, tf.Variable>,
    readonly step: TrainingStep,
  ) {}

  /**
   * The network of `model` under `run`. `order`, when given, names the trained variables' initializers
   * in the order the master copies take (a worker thread's must match its parent's).
   */
  static build(model: Model, run: NetworkRun, order?: readonly string[]): Network {
    const mirror = buildMirror(model);
    let hooks: NetworkHooks = {};
    try {
      hooks = run.method.plugin.network?.(run.method.settings, { model, mirror, tf }) ?? {};
      const chosen = hooks.trainedVariables?.() ?? mirror.params;
      const trained = order ? inOrder(chosen, order) : chosen;
      const objective = buildObjective(run.objectives, model.graph.outputs.map((v) => v.name));
      const step = new TrainingStep(mirror, model.graph.outputs, objective, hooks, trained, masterCopies(trained));
      return new Network(mirror, hooks, trained, step);
    } catch (e) {
      hooks.dispose?.();
      mirror.dispose();
      throw e;
    }
  }

  get params(): readonly Parameter[] {
    return this.step.params;
  }

  dispose(): void {
    this.hooks.dispose?.();
    this.mirror.dispose();
  }
}

function inOrder(variables: ReadonlyMap<Value, tf.Variable>, names: readonly string[]): Map<Value, tf.Variable> {
  const byName = new Map([...variables].map(([value, variable]) => [value.name, [value, variable] as const]));
  return new Map(
    names.map((name) => {
      const entry = byName.get(name);
      if (!entry) throw new Error(`the network has no trained variable for '${name}'`);
      return entry;
    }),
  );
}
