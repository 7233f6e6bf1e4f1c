import { OtocError } from '../errors.js';
import { Graph, Model, Node, Value, nodeReads, topologicalOrder } from './graph.js';

/**
 * IR versions otoc accepts: 3 is the first with opset imports, 11 is the version of otoc's
 * schema (schemas/onnx.proto). onnxruntime-node 1.30 itself loads up to IR 13.
 */
export const SUPPORTED_IR_VERSIONS = { min: 3, max: 11 } as const;

/**
 * The newest opset onnxruntime-node 1.30 loads, per domain, measured by loading one-node models:
 * it refuses ai.onnx 27 ("Current official support for domain ai.onnx is till opset 26") and
 * ai.onnx.ml 6. Older opsets have no model-level limit: onnxruntime only "guarantees" ai.onnx 7
 * and up, yet runs most opset-6 models, and refuses an operator it has no kernel for by name.
 */
export const MAX_SUPPORTED_OPSET: Readonly<Record<string, number>> = { '': 26, 'ai.onnx.ml': 5 };

export type ProblemKind =
  | 'ir-version'
  | 'opset'
  | 'empty-op-type'
  | 'undefined-value'
  | 'duplicate-definition'
  | 'cycle'
  | 'not-topologically-sorted';

export interface Problem {
  kind: ProblemKind;
  /** One line that names the node or value at fault. */
  message: string;
}

/** Every way `model` breaks ONNX validity rules (the `onnx.checker`-level ones otoc relies on); empty when valid. */
export function findProblems(model: Model): Problem[] {
  return [...versionProblems(model), ...graphProblems(model.graph, '')];
}

/** Throw an OtocError describing the first problem of `model` (and how many more there are). */
export function validateModel(model: Model, file?: string): void {
  const problems = findProblems(model);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  throw new OtocError(`invalid model: ${problems[0].message}${more}`, file);
}

function versionProblems(model: Model): Problem[] {
  const problems: Problem[] = [];
  const ir = SUPPORTED_IR_VERSIONS;
  if (model.irVersion < ir.min || model.irVersion > ir.max) {
    problems.push({
      kind: 'ir-version',
      message: `IR version ${model.irVersion} is not supported (otoc reads IR ${ir.min} to ${ir.max})`,
    });
  }
  for (const { domain, version } of model.opsetImports) {
    const max = MAX_SUPPORTED_OPSET[domain === 'ai.onnx' ? '' : domain];
    if (max !== undefined && version < 1) {
      problems.push({ kind: 'opset', message: `opset ${version} of domain '${domain || 'ai.onnx'}' does not exist (opsets start at 1)` });
    }
    if (max !== undefined && version > max) {
      problems.push({
        kind: 'opset',
        message: `opset ${version} of domain '${domain || 'ai.onnx'}' is not supported (onnxruntime-node 1.30 runs up to ${max})`,
      });
    }
  }
  if (model.opset('') === undefined && usesDefaultDomain(model.graph)) {
    problems.push({ kind: 'opset', message: "the model uses ai.onnx operators but imports no ai.onnx opset" });
  }
  return problems;
}

function usesDefaultDomain(graph: Graph): boolean {
  return graph.nodes.some(
    (n) => n.domain === '' || n.domain === 'ai.onnx' || n.subgraphs().some((g) => usesDefaultDomain(g)),
  );
}

/** `where` prefixes messages about subgraphs, e.g. "in subgraph 'body' of Loop 'loop': ". */
function graphProblems(graph: Graph, where: string): Problem[] {
  const problems: Problem[] = [];
  const report = (kind: ProblemKind, message: string) => problems.push({ kind, message: where + message });

  for (const message of duplicateDefinitions(graph)) report('duplicate-definition', message);
  const ownNames = namesDefinedWithoutNodes(graph);
  // Values of enclosing graphs are checked where they are defined; here only whether they are.
  const isDefined = (v: Value) =>
    v.producer !== null ||
    v.isConstant ||
    (v.graph === graph ? ownNames : namesDefinedWithoutNodes(v.graph)).has(v.name);

  graph.nodes.forEach((node, index) => {
    if (node.opType === '') report('empty-op-type', `node #${index}${node.name ? ` '${node.name}'` : ''} has an empty op_type`);
    for (const v of node.inputs) {
      if (v && !isDefined(v)) report('undefined-value', `node ${node.label()} reads '${v.name}', which nothing defines`);
    }
  });
  for (const v of graph.outputs) {
    if (!isDefined(v)) report('undefined-value', `graph output '${v.name}' is not defined by any node, input or initializer`);
  }

  const order = topologicalOrder(graph);
  if (!order.ok) report('cycle', `the graph has a cycle through node ${order.cycle.label()}`);
  else {
    const early = firstReadBeforeDefinition(graph);
    if (early) {
      report(
        'not-topologically-sorted',
        `node ${early.reader.label()} reads '${early.value.name}' before node ${early.producer.label()} computes it (nodes must be in topological order)`,
      );
    }
  }

  for (const node of graph.nodes) {
    for (const [name, attr] of node.attributes) {
      const subgraphs = attr.type === 'graph' ? [attr.value] : attr.type === 'graphs' ? attr.value : [];
      for (const sub of subgraphs) problems.push(...graphProblems(sub, `${where}in subgraph '${name}' of ${node.label()}: `));
    }
  }
  return problems;
}

/** Graph inputs, and sparse initializers (kept as raw protos, so only their names tell). */
function namesDefinedWithoutNodes(graph: Graph): Set<string> {
  const sparse = graph.sparseInitializers.map((s) => (s.values as { name?: string } | undefined)?.name ?? '');
  return new Set([...graph.inputs.map((v) => v.name), ...sparse]);
}

/**
 * Names defined twice, as onnx.checker sees them: a node output may not repeat an initializer,
 * a graph input, another node output, or any name of an enclosing graph (SSA form). An input
 * that is also an initializer is fine: the initializer is its default value.
 */
function duplicateDefinitions(graph: Graph): string[] {
  const duplicates: string[] = [];
  const definedBy = new Map<Value, string>();
  for (const v of graph.initializers) definedBy.set(v, 'an initializer');
  for (const v of graph.inputs) {
    const earlier = definedBy.get(v);
    if (earlier === 'a graph input') duplicates.push(`'${v.name}' is listed twice as a graph input`);
    else if (!earlier) definedBy.set(v, 'a graph input');
  }
  for (const node of graph.nodes) {
    for (const v of node.outputs) {
      if (!v) continue;
      const by = `the output of node ${node.label()}`;
      const earlier = definedBy.get(v) ?? (graph.parent?.lookup(v.name) ? 'a value of an enclosing graph' : undefined);
      if (earlier) duplicates.push(`'${v.name}' is defined twice: as ${earlier} and as ${by}`);
      else definedBy.set(v, by);
    }
  }
  return duplicates;
}

function firstReadBeforeDefinition(graph: Graph): { reader: Node; value: Value; producer: Node } | undefined {
  const position = new Map(graph.nodes.map((n, i) => [n, i]));
  for (const [i, reader] of graph.nodes.entries()) {
    for (const value of nodeReads(reader)) {
      const producer = value.producer;
      const at = producer ? position.get(producer) : undefined;
      if (producer && at !== undefined && at > i) return { reader, value, producer };
    }
  }
  return undefined;
}
