import { attrInt } from '../ir/attributes.js';
import { formatShape, type Shape } from '../ir/types.js';
import { checkSameTypes, facts, invalidNode } from './rules.js';
import { broadcastShapes, isStaticShape, product } from './shape-math.js';
import type { InferredNode, NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { gemmChannels, matmulChannels } from './channels/matmul.js';

/** numpy matmul: batch dims broadcast; a 1-D operand gains (then loses) a unit row or column. Refuses what cannot multiply. */
function matmulShape(n: NodeFacts, a: Shape, b: Shape): Shape {
  if (a.length === 0 || b.length === 0) throw invalidNode(n.node, 'MatMul operands must have rank at least 1');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw invalidNode(n.node, `cannot multiply ${formatShape(a)} by ${formatShape(b)}: inner dims ${k1} and ${k2} differ`);
  }
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) throw invalidNode(n.node, `the batch dims of ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
  return [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
}

const matmul: ShapeRule = (n) => {
  const a = n.input(0);
  const b = n.input(1);
  if (!a) return [undefined];
  checkSameTypes(n);
  return [facts(a.elemType, a.shape && b?.shape && matmulShape(n, a.shape, b.shape))];
};

/** The contracted size K of a MatMul or Gemm: A's last dim (first when transA). */
function contracted(n: InferredNode, transposed: boolean): number | undefined {
  const a = n.input(0)?.shape;
  const k = a && (transposed ? a[0] : a[a.length - 1]);
  return typeof k === 'number' ? k : undefined;
}

/** Y = alpha·A'·B' + beta·C with A' [M, K] and B' [K, N] after the optional transposes; C broadcasts to [M, N]. */
const gemm: ShapeRule = (n) => {
  const a = n.input(0);
  const b = n.input(1)?.shape;
  if (!a) return [undefined];
  checkSameTypes(n);
  for (const [i, s] of [[0, a.shape], [1, b]] as const) {
    if (s && s.length !== 2) throw invalidNode(n.node, `input ${i} has shape ${formatShape(s)}; Gemm multiplies matrices`);
  }
  if (!a.shape || !b) return [{ elemType: a.elemType }];
  const transA = attrInt(n.node, 'transA', 0) !== 0;
  const transB = attrInt(n.node, 'transB', 0) !== 0;
  const [m, ka] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, cols] = transB ? [b[1], b[0]] : b;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw invalidNode(n.node, `cannot multiply A' (K = ${ka}) by B' (K = ${kb}): A is ${formatShape(a.shape)}, B ${formatShape(b)}`);
  }
  const c = n.node.input(2) ? n.input(2)?.shape : undefined;
  if (c && (c.length > 2 || !broadcastsTo(c, [m, cols]))) {
    throw invalidNode(n.node, `C of shape ${formatShape(c)} does not broadcast to the output [${m}, ${cols}]`);
  }
  return [facts(a.elemType, [m, cols])];
};

/** Whether `from` broadcasts unidirectionally to `to` (each known dim 1 or equal). */
function broadcastsTo(from: Shape, to: Shape): boolean {
  const offset = to.length - from.length;
  return offset >= 0 && from.every((d, i) => d === 1 || typeof d !== 'number' || typeof to[i + offset] !== 'number' || d === to[i + offset]);
}

/** A MatMul or Gemm whose operand is a float initializer treats it as a weight (or, for Gemm, a bias). */
export const matmulOps: OpSpec[] = [
  {
    opType: 'MatMul',
    domain: '',
    requiredInputs: ['A', 'B'],
    infer: matmul,
    // One dot product of length K per output element.
    macs: (n) => {
      const y = n.output(0)?.shape;
      const k = contracted(n, false);
      return isStaticShape(y) && k !== undefined ? product(y) * k : undefined;
    },
    parameterInputs: [0, 1],
    weightInputs: [0, 1],
    channels: matmulChannels,
  },
  {
    opType: 'Gemm',
    domain: '',
    requiredInputs: ['A', 'B'],
    infer: gemm,
    macs: (n) => {
      const y = n.output(0)?.shape;
      const k = contracted(n, attrInt(n.node, 'transA', 0) !== 0);
      return isStaticShape(y) && k !== undefined ? product(y) * k : undefined;
    },
    parameterInputs: [0, 1, 2],
    weightInputs: [0, 1],
    channels: gemmChannels,
  },
];
