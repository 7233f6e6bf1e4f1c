import { attrInt } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { facts } from './rules.js';
import { broadcastShapes, isStaticShape, product } from './shape-math.js';
import type { InferredNode, OpSpec, ShapeRule } from './spec.js';
import { gemmChannels, matmulChannels } from './channels/stems.js';
import { gemmTfjs, matmulTfjs } from './tfjs/matmul.js';

/** numpy matmul: batch dims broadcast; a 1-D operand gains (then loses) a unit row or column. */
function matmulShape(a: Shape, b: Shape): Shape | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) return undefined;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return undefined;
  return [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
}

const matmul: ShapeRule = (n) => {
  const a = n.input(0);
  const b = n.input(1);
  if (!a) return [undefined];
  return [facts(a.elemType, a.shape && b?.shape && matmulShape(a.shape, b.shape))];
};

/** The contracted size K of a MatMul or Gemm: A's last dim (first when transA). */
function contracted(n: InferredNode, transposed: boolean): number | undefined {
  const a = n.input(0)?.shape;
  const k = a && (transposed ? a[0] : a[a.length - 1]);
  return typeof k === 'number' ? k : undefined;
}

/** Y = alpha·A'·B' + beta·C with A' [M, K] and B' [K, N] after the optional transposes. */
const gemm: ShapeRule = (n) => {
  const a = n.input(0);
  const b = n.input(1)?.shape;
  if (!a) return [undefined];
  if (a.shape?.length !== 2 || b?.length !== 2) return [{ elemType: a.elemType }];
  const m = attrInt(n.node, 'transA', 0) ? a.shape[1] : a.shape[0];
  const cols = attrInt(n.node, 'transB', 0) ? b[0] : b[1];
  return [facts(a.elemType, [m, cols])];
};

/** A MatMul or Gemm whose operand is a float initializer treats it as a weight (or, for Gemm, a bias). */
export const matmulOps: OpSpec[] = [
  {
    opType: 'MatMul',
    domain: '',
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
    tfjs: matmulTfjs,
  },
  {
    opType: 'Gemm',
    domain: '',
    infer: gemm,
    macs: (n) => {
      const y = n.output(0)?.shape;
      const k = contracted(n, attrInt(n.node, 'transA', 0) !== 0);
      return isStaticShape(y) && k !== undefined ? product(y) * k : undefined;
    },
    parameterInputs: [0, 1, 2],
    weightInputs: [0, 1],
    channels: gemmChannels,
    tfjs: gemmTfjs,
  },
];
