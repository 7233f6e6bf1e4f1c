/**
 * The training mirror: a differentiable tfjs function of an ONNX model, built from the tfjs
 * rules of src/mirror/ops/ (the mirror's side of the op table).
 *
 * Layout: ONNX is NCHW, tfjs convolutions and pools are NHWC. Every value is held in one axis
 * order, ONNX or channels-last, whichever its producer computes it in; a consumer asks for the
 * order it needs and a conversion happens only then (once per value and pass). Convolutions,
 * pools and normalizations produce channels-last; element-wise ops, Concat, Slice, Split, Pad and
 * reductions with kept dims follow their inputs (their axis attributes remapped); ops defined on
 * ONNX axis order (Reshape, Flatten, Transpose, MatMul, ...) and the graph outputs take ONNX
 * order. A conv → BN → ReLU → pool → ... chain thus runs without a transpose between ops; the
 * converting ones are where the graph leaves it (usually Flatten after a 1×1 pool: a reshape).
 *
 * Parameters stay in ONNX layout (optimizers and ZIG slices index ONNX axes); conv weights are
 * transposed to tfjs's layout inside each forward pass, which costs little next to the activations.
 */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import { floatDataOf } from '../ir/float-data.js';
import { Model, Node, Value, topologicalOrder } from '../ir/graph.js';
import type { NodeFacts } from '../ops/spec.js';
import { opSpec } from '../ops/table.js';
import { tfjsRule } from './ops/registry.js';
import { TfjsBuild, TfjsKernel, unsupported } from './ops/rule.js';
import { constantOf } from '../../passes/fold-constants.js';
import { analyzeBatch, type BatchAnalysis } from './batch.js';
import { ForwardPass, NodeContext } from './forward.js';
import { TRAINABLE_TYPES, toTfjs } from './tensors.js';

export interface ForwardOptions {
  /** Training mode: BatchNormalization uses batch statistics and updates running mean/var with its momentum; Dropout is active. Eval mode follows ONNX semantics exactly. */
  training: boolean;
  /** Optional weight transform applied to a parameter before use (PEMN masks, projections): given the initializer Value and its variable (ONNX layout), returns the tensor to use. */
  transform?: (param: Value, weight: tf.Tensor) => tf.Tensor;
  /** Seed of the Dropout masks in training mode: the same seed draws the same masks. Fresh randomness when absent. */
  seed?: number;
  /**
   * Re-estimation of the running statistics, outside training mode: BatchNormalization normalizes
   * with the batch's statistics and moves its running ones with this momentum (the weight of the
   * old value) in place of its own; every other op, Dropout included, runs as in eval mode.
   */
  statisticsMomentum?: number;
}

export interface Mirror {
  /** Trainable variables (float weight initializers, or Constant nodes holding them: the op table's parameterInputs), in ONNX layout/shape, keyed by Value. */
  readonly params: Map<Value, tf.Variable>;
  /** Non-trainable state updated in training mode (BatchNormalization running mean and variance), keyed by initializer Value. */
  readonly buffers: Map<Value, tf.Variable>;
  /** Run the graph on NCHW (ONNX-layout) inputs keyed by graph input name; returns the graph outputs in order, in ONNX layout. The batch dimension is free even when the file fixes it to 1. Call inside tf.tidy / tf.variableGrads as usual. */
  forward(inputs: Record<string, tf.Tensor>, options: ForwardOptions): tf.Tensor[];
  /** Copy current parameters and BN running statistics back into the model's initializers (same dtypes and dims). */
  exportTo(model: Model): void;
  dispose(): void;
}

interface CompiledNode {
  node: Node;
  facts: NodeFacts;
  kernel: TfjsKernel;
}

/** Throws OtocError naming the node for an unsupported op or attribute combination. */
export function buildMirror(model: Model): Mirror {
  const graph = model.graph;
  const order = topologicalOrder(graph);
  if (!order.ok) throw new OtocError(`the graph has a cycle through ${order.cycle.label()}`);
  for (const v of [...graph.inputs, ...graph.outputs]) {
    if (v.type && v.type.kind !== 'tensor') throw new OtocError(`graph value '${v.name}' is a ${v.type.kind}: unsupported by the tfjs mirror`);
  }
  const batch = analyzeBatch(model);
  const { params, buffers } = createVariables(order.nodes);
  const graphInputs = new Set(graph.inputs);
  const constants = new Map<Value, tf.Tensor>();
  const owned: tf.Tensor[] = [];
  const build: TfjsBuild = {
    constant: (t) => {
      const tensor = toTfjs(t);
      owned.push(tensor);
      return tensor;
    },
  };
  // A Constant node that holds a parameter does not run: its output is the variable.
  const computed = order.nodes.filter((node) => !node.outputs.every((v) => v && (params.has(v) || buffers.has(v))));
  let compiled: CompiledNode[];
  try {
    compiled = computed.map((node) => compile(model, node, batch, build));
  } catch (e) {
    tf.dispose([...owned, ...params.values(), ...buffers.values()]);
    throw e;
  }
  // Made on first use, inside the caller's tidy: kept, as the mirror owns them.
  const tensorOfConstant = (v: Value) => {
    let t = constants.get(v);
    if (!t && v.constant) constants.set(v, (t = tf.keep(toTfjs(v.constant))));
    return t;
  };

  return {
    params,
    buffers,
    forward(inputs, options) {
      checkInputs(graph.inputs, inputs, batch);
      const applied = new Map<Value, tf.Tensor>();
      const parameter = (v: Value, variable: tf.Variable) => {
        if (!options.transform) return variable;
        let t = applied.get(v);
        if (!t) applied.set(v, (t = options.transform(v, variable)));
        return t;
      };
      // A graph input with an initializer takes the given tensor, if any, else the initializer.
      const pass = new ForwardPass((v) => {
        const param = params.get(v);
        if (param) return parameter(v, param);
        return buffers.get(v) ?? (graphInputs.has(v) ? inputs[v.name] : undefined) ?? tensorOfConstant(v);
      });
      compiled.forEach(({ node, facts, kernel }, index) => {
        const seed = options.seed === undefined ? undefined : options.seed * compiled.length + index;
        const ctx = new NodeContext(pass, node, facts, options.training, seed, options.statisticsMomentum);
        runNode(node, kernel, ctx, pass, graph.outputs);
      });
      for (const [v, value] of pass.bufferUpdates) buffers.get(v)?.assign(value);
      return graph.outputs.map((v) => pass.tensor(v));
    },
    exportTo(target) {
      for (const [v, variable] of [...params, ...buffers]) {
        const value = target.graph.lookup(v.name);
        const old = constantOf(value);
        if (!value || !old || old.dims.join() !== variable.shape.join()) {
          throw new OtocError(`the model has no initializer '${v.name}' of dims [${variable.shape}]`);
        }
        // A weight held in a Constant node is written back as an initializer, as folding writes it.
        if (value.producer) target.graph.removeNode(value.producer);
        target.graph.addInitializer(value, { ...old, name: value.name, data: floatDataOf(variable.dataSync() as Float32Array, old.dataType) });
      }
    },
    dispose() {
      tf.dispose([...owned, ...constants.values(), ...params.values(), ...buffers.values()]);
      constants.clear();
    },
  };
}

function compile(model: Model, node: Node, batch: BatchAnalysis, build: TfjsBuild): CompiledNode {
  const rule = tfjsRule(node.opType, node.domain);
  const opset = model.opset(node.domain);
  if (!rule || opset === undefined) throw unsupported(node, `operator ${node.domain ? `${node.domain}.` : ''}${node.opType}`);
  if (node.subgraphs().length) throw unsupported(node, 'subgraphs');
  const facts = batch.view(node, opset);
  return { node, facts, kernel: rule(facts, build) };
}

/**
 * Variables for the float initializers the op table marks as parameters (trainable) or
 * buffers (state the forward pass updates), one per initializer however many nodes read it.
 * A weight in a Constant node (paddle2onnx) is one too, as folding makes it an initializer.
 */
function createVariables(nodes: Node[]): { params: Map<Value, tf.Variable>; buffers: Map<Value, tf.Variable> } {
  const params = new Map<Value, tf.Variable>();
  const buffers = new Map<Value, tf.Variable>();
  const floatInitializer = (v: Value | null | undefined): v is Value => {
    const t = constantOf(v);
    return t !== undefined && TRAINABLE_TYPES.has(t.dataType);
  };
  for (const node of nodes) {
    const spec = opSpec(node.opType, node.domain);
    for (const i of spec?.parameterInputs ?? []) {
      const v = node.inputs[i];
      if (floatInitializer(v) && !params.has(v)) params.set(v, variableOf(v, true));
    }
  }
  for (const node of nodes) {
    const spec = opSpec(node.opType, node.domain);
    for (const i of spec?.bufferInputs ?? []) {
      const v = node.inputs[i];
      if (floatInitializer(v) && !params.has(v) && !buffers.has(v)) buffers.set(v, variableOf(v, false));
    }
  }
  return { params, buffers };
}

function variableOf(v: Value, trainable: boolean): tf.Variable {
  const initial = toTfjs(constantOf(v)!);
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}

/**
 * Every graph input the model needs is given, with its declared dims except the batch; a
 * batch other than the file's is refused when a Reshape pins it.
 */
function checkInputs(graphInputs: readonly Value[], inputs: Record<string, tf.Tensor>, batch: BatchAnalysis): void {
  for (const v of graphInputs) {
    if (v.constant) continue;
    const t = inputs[v.name];
    if (!t) throw new OtocError(`no tensor given for graph input '${v.name}'`);
    const declared = v.type?.kind === 'tensor' ? v.type.shape : undefined;
    if (!declared) continue;
    const batched = batch.batched.includes(v);
    const fits = t.rank === declared.length && declared.every((d, i) => (batched && i === 0) || d.value === undefined || d.value === t.shape[i]);
    if (!fits) throw new OtocError(`graph input '${v.name}' is declared [${declared.map((d) => d.value ?? d.param ?? '?')}], got [${t.shape}]`);
    if (batched && batch.fileBatch !== undefined && t.shape[0] !== batch.fileBatch && batch.pinned.length) {
      throw new OtocError(
        `node ${batch.pinned[0].label()} reshapes away the batch of ${batch.fileBatch} the file fixes: the mirror cannot run a batch of ${t.shape[0]}`,
      );
    }
  }
}

/** Runs one kernel and keeps its outputs; an output that is used but not computed is refused. */
function runNode(node: Node, kernel: TfjsKernel, ctx: NodeContext, pass: ForwardPass, graphOutputs: readonly Value[]): void {
  let outputs: ReturnType<TfjsKernel>;
  try {
    outputs = kernel(ctx);
  } catch (e) {
    if (e instanceof OtocError) throw e;
    throw new Error(`node ${node.label()}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  node.outputs.forEach((v, i) => {
    if (!v) return;
    const held = outputs[i];
    if (held) pass.set(v, held);
    else if (v.consumers.length || graphOutputs.includes(v)) throw unsupported(node, `output ${i}`);
  });
}
