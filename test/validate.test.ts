import { describe, expect, it } from 'vitest';
import { OtocError } from '../src/errors.js';
import { setAttributes } from '../src/ir/build.js';
import { DataType } from '../src/ir/dtype.js';
import { Graph, Model } from '../src/ir/graph.js';
import { makeTensor } from '../src/ir/tensor.js';
import { tensorType } from '../src/ir/types.js';
import { findProblems, validateModel } from '../src/ir/validate.js';
import { readModel } from '../src/onnx/read.js';
import { corpusManifest, corpusModel } from './paths.js';

/** x -> Relu 'r1' -> a -> Relu 'r2' -> y, opset 13. */
function chain(): { model: Model; graph: Graph } {
  const graph = new Graph();
  const [x, a, y] = ['x', 'a', 'y'].map((name) => graph.ensureValue(name));
  x.type = tensorType(DataType.FLOAT, [2]);
  graph.inputs = [x];
  graph.outputs = [y];
  graph.addNode('Relu', [x], [a]).name = 'r1';
  graph.addNode('Relu', [a], [y]).name = 'r2';
  const model = new Model(graph);
  model.opsetImports = [{ domain: '', version: 13 }];
  return { model, graph };
}

const problemsOf = (model: Model) => findProblems(model).map((p) => `${p.kind}: ${p.message}`);

describe('model validity', () => {
  it('accepts every corpus model', () => {
    for (const { name } of corpusManifest()) expect(findProblems(readModel(corpusModel(name))), name).toEqual([]);
  });

  it('accepts a valid graph, an input that an initializer gives a default, and a sparse initializer', () => {
    const { model, graph } = chain();
    const w = graph.ensureValue('w');
    graph.addInitializer(w, makeTensor('w', DataType.FLOAT, [2], Float32Array.of(1, 2)));
    graph.inputs.push(w);
    graph.nodes[1].setInput(1, w);
    graph.sparseInitializers = [{ values: { name: 's' }, indices: { name: 's_indices' }, dims: [2] }];
    graph.nodes[1].setInput(2, graph.ensureValue('s'));
    expect(problemsOf(model)).toEqual([]);
  });

  it('reports IR versions and opsets outside the supported range', () => {
    const { model } = chain();
    model.irVersion = 2;
    model.opsetImports = [
      { domain: 'ai.onnx', version: 27 },
      { domain: 'ai.onnx.ml', version: 6 },
      { domain: 'com.example', version: 99 },
    ];
    expect(problemsOf(model)).toEqual([
      'ir-version: IR version 2 is not supported (otoc reads IR 3 to 11)',
      "opset: opset 27 of domain 'ai.onnx' is not supported (onnxruntime-node 1.30 runs up to 26)",
      "opset: opset 6 of domain 'ai.onnx.ml' is not supported (onnxruntime-node 1.30 runs up to 5)",
    ]);
    model.irVersion = 11;
    model.opsetImports = [{ domain: 'com.example', version: 1 }];
    expect(problemsOf(model)).toEqual(['opset: the model uses ai.onnx operators but imports no ai.onnx opset']);
  });

  it('reports undefined values, empty op types, and outputs nothing computes', () => {
    const { model, graph } = chain();
    graph.nodes[1].setInput(0, graph.ensureValue('ghost'));
    graph.nodes[0].opType = '';
    graph.outputs.push(graph.ensureValue('nowhere'));
    expect(problemsOf(model)).toEqual([
      "empty-op-type: node #0 'r1' has an empty op_type",
      "undefined-value: node Relu 'r2' reads 'ghost', which nothing defines",
      "undefined-value: graph output 'nowhere' is not defined by any node, input or initializer",
    ]);
  });

  it('reports values defined twice', () => {
    const { model, graph } = chain();
    graph.addInitializer(graph.nodes[0].outputs[0]!, makeTensor('a', DataType.FLOAT, [2], new Float32Array(2)));
    graph.inputs.push(graph.inputs[0]);
    expect(problemsOf(model)).toEqual([
      "duplicate-definition: 'x' is listed twice as a graph input",
      "duplicate-definition: 'a' is defined twice: as an initializer and as the output of node Relu 'r1'",
    ]);
  });

  it('reports cycles and nodes out of topological order', () => {
    const cyclic = chain();
    cyclic.graph.nodes[0].setInput(0, cyclic.graph.nodes[1].outputs[0]);
    expect(findProblems(cyclic.model).map((p) => p.kind)).toEqual(['cycle']);

    const unsorted = chain();
    unsorted.graph.nodes.reverse();
    expect(problemsOf(unsorted.model)).toEqual([
      "not-topologically-sorted: node Relu 'r2' reads 'a' before node Relu 'r1' computes it (nodes must be in topological order)",
    ]);
  });

  it('checks subgraphs, which may read but not redefine names of the enclosing graph', () => {
    const { model, graph } = chain();
    const body = new Graph(graph);
    const out = body.ensureValue('a');
    body.outputs = [out];
    body.addNode('Identity', [graph.lookup('x')!], [out]).name = 'inner';
    body.addNode('Relu', [body.ensureValue('lost')], [body.ensureValue('z')]).name = 'reader';
    const cond = graph.ensureValue('cond');
    graph.inputs.push(cond);
    const ifNode = graph.addNode('If', [cond], [graph.ensureValue('branch')]);
    ifNode.name = 'if';
    setAttributes(ifNode, { then_branch: { type: 'graph', value: body }, else_branch: { type: 'graph', value: body } });
    expect(problemsOf(model)).toContain(
      "duplicate-definition: in subgraph 'then_branch' of If 'if': 'a' is defined twice: as a value of an enclosing graph and as the output of node Identity 'inner'",
    );
    expect(problemsOf(model)).toContain(
      "undefined-value: in subgraph 'else_branch' of If 'if': node Relu 'reader' reads 'lost', which nothing defines",
    );
  });

  it('throws one OtocError line naming the first problem and counting the rest', () => {
    const { model, graph } = chain();
    graph.nodes[1].setInput(0, graph.ensureValue('ghost'));
    model.irVersion = 99;
    expect(() => validateModel(model, 'm.onnx')).toThrow(
      expect.objectContaining({
        constructor: OtocError,
        file: 'm.onnx',
        message: 'invalid model: IR version 99 is not supported (otoc reads IR 3 to 11) (and 1 more problem)',
      }),
    );
  });
});
