/**
 * A zoo model's layers as JSON for bench/torch_train_speed.py, which builds the same network in
 * PyTorch from it: the ops in graph order with the values they read and write, and each layer's
 * sizes. Only the ops the zoo uses.
 */
import { attrFloat, attrInt, attrInts } from '../src/ir/attributes.js';
import type { Model, Node } from '../src/ir/graph.js';

export type TorchLayer =
  | { op: 'Conv'; inChannels: number; outChannels: number; kernel: number; stride: number; pad: number; group: number; bias: boolean }
  | { op: 'BatchNormalization'; channels: number; eps: number; momentum: number }
  | { op: 'Gemm'; inFeatures: number; outFeatures: number; bias: boolean }
  | { op: 'MaxPool'; kernel: number; stride: number }
  | { op: 'Relu' | 'Add' | 'GlobalAveragePool' | 'Flatten' };

export type TorchNode = TorchLayer & { inputs: string[]; output: string };

export interface TorchArchitecture {
  input: string;
  /** One sample's [C, H, W]. */
  inputShape: number[];
  output: string;
  classes: number;
  nodes: TorchNode[];
}

export function torchArchitecture(model: Model, inputShape: number[], classes: number): TorchArchitecture {
  const graph = model.graph;
  return {
    input: graph.inputs[0].name,
    inputShape,
    output: graph.outputs[0].name,
    classes,
    nodes: graph.nodes.map((node) => ({
      ...layerOf(node),
      inputs: node.inputs.filter((v) => v && !v.isConstant).map((v) => v!.name),
      output: node.outputs[0]!.name,
    })),
  };
}

function layerOf(node: Node): TorchLayer {
  const dims = (i: number) => node.inputs[i]!.constant!.dims;
  switch (node.opType) {
    case 'Conv': {
      const [out, inPerGroup, kernel] = dims(1);
      const group = attrInt(node, 'group', 1);
      const pads = attrInts(node, 'pads', [0]);
      const strides = attrInts(node, 'strides', [1]);
      if (new Set(pads).size !== 1 || new Set(strides).size !== 1) throw new Error(`${node.name}: uneven pads or strides`);
      return { op: 'Conv', inChannels: inPerGroup * group, outChannels: out, kernel, stride: strides[0], pad: pads[0], group, bias: node.inputs.length > 2 };
    }
    case 'BatchNormalization':
      // ONNX running = momentum·running + (1 − momentum)·batch; PyTorch's momentum is the batch's weight.
      return { op: 'BatchNormalization', channels: dims(1)[0], eps: attrFloat(node, 'epsilon', 1e-5), momentum: 1 - attrFloat(node, 'momentum', 0.9) };
    case 'Gemm': {
      if (attrInt(node, 'transB', 0) !== 1) throw new Error(`${node.name}: only Gemm with transB = 1 (nn.Linear)`);
      const [outFeatures, inFeatures] = dims(1);
      return { op: 'Gemm', inFeatures, outFeatures, bias: node.inputs.length > 2 };
    }
    case 'MaxPool':
      return { op: 'MaxPool', kernel: attrInts(node, 'kernel_shape')![0], stride: attrInts(node, 'strides', [1])[0] };
    case 'Relu':
    case 'Add':
    case 'GlobalAveragePool':
    case 'Flatten':
      return { op: node.opType };
    default:
      throw new Error(`${node.name}: ${node.opType} has no PyTorch layer in the benchmark`);
  }
}

