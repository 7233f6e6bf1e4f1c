import { attrInt, attrInts } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import { formatShape, type Shape } from '../ir/types.js';
import { FLOAT_TYPES, checkInputType, checkSameTypes, facts, invalidNode } from './rules.js';
import { isStaticShape, product, type ShapeDim } from './shape-math.js';
import type { NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { readWindow, windowOutputDims, type Window } from './sliding-window.js';
import { convChannels, convPrune, convTransposeChannels, convTransposePrune } from './channels/conv.js';

/** X is [N, C, spatial...] and W is [M, C/group, kernel...] (Conv) or [C, M/group, kernel...] (ConvTranspose). */
function convRule(transposed: boolean, outputDims: (node: Node, x: Shape, w: Shape | undefined, window: Window) => Shape): ShapeRule {
  return (n) => {
    const x = n.input(0);
    if (!x) return [undefined];
    checkInputType(n, 0, FLOAT_TYPES, 'X');
    checkSameTypes(n);
    const w = n.input(1)?.shape;
    if (!x.shape) return [{ elemType: x.elemType }];
    if (x.shape.length < 3) throw invalidNode(n.node, `X has rank ${x.shape.length}; it must be [N, C, spatial...]`);
    if (w && w.length !== x.shape.length) throw invalidNode(n.node, `W has rank ${w.length}, X rank ${x.shape.length}; they must be equal`);
    checkConvChannels(n, transposed, x.shape[1], w);
    const kernelFromWeight = w?.slice(2);
    const window = readWindow(n.node, x.shape.length - 2, isStaticShape(kernelFromWeight) ? kernelFromWeight : undefined);
    return [facts(x.elemType, window && outputDims(n.node, x.shape, w, window))];
  };
}

/**
 * The channel counts the spec ties together: group ≥ 1 divides both channel counts, W's input
 * channels times group are X's channels (ConvTranspose: W's first dim is X's channels), and B
 * holds one value per output channel.
 */
function checkConvChannels(n: NodeFacts, transposed: boolean, channels: ShapeDim, w: Shape | undefined): void {
  const group = attrInt(n.node, 'group', 1);
  if (!(group >= 1)) throw invalidNode(n.node, `group must be at least 1, got ${group}`);
  const [w0, w1] = w ?? [null, null];
  const inPerGroup = transposed ? (typeof w0 === 'number' ? w0 / group : null) : w1;
  const outChannels = transposed ? (typeof w1 === 'number' ? w1 * group : null) : w0;
  if (typeof channels === 'number' && typeof inPerGroup === 'number' && channels !== inPerGroup * group) {
    const wants = transposed ? `W's first dim ${w0}` : `W's ${w1} input channels × group ${group}`;
    throw invalidNode(n.node, `X has ${channels} channels, but ${wants} = ${inPerGroup * group}`);
  }
  if (typeof w0 === 'number' && w0 % group !== 0) throw invalidNode(n.node, `W's first dim ${w0} is not a multiple of group ${group}`);
  const b = n.node.input(2) ? n.input(2)?.shape : undefined;
  if (b && (b.length !== 1 || (typeof b[0] === 'number' && typeof outChannels === 'number' && b[0] !== outChannels))) {
    throw invalidNode(n.node, `B has shape ${formatShape(b)}, but the conv has ${outChannels ?? '?'} output channels`);
  }
}

const convOutput = (node: Node, x: Shape, w: Shape | undefined, window: Window): Shape => [
  x[0],
  w?.[0] ?? null,
  ...windowOutputDims(node, x.slice(2), window),
];

function convTransposeOutput(node: Node, x: Shape, w: Shape | undefined, window: Window): Shape {
  const spatial = x.length - 2;
  const channelsPerGroup = w?.[1];
  const channels = typeof channelsPerGroup === 'number' ? channelsPerGroup * attrInt(node, 'group', 1) : null;
  // An explicit output_shape decides the spatial size (pads are derived from it); it may also list N and C.
  const explicit = attrInts(node, 'output_shape');
  if (explicit && explicit.length < spatial) throw invalidNode(node, `output_shape [${explicit}] has fewer entries than the ${spatial} spatial axes`);
  if (explicit) return [x[0], channels, ...explicit.slice(-spatial)];
  const outputPadding = attrInts(node, 'output_padding', new Array<number>(spatial).fill(0));
  if (outputPadding.length !== spatial || outputPadding.some((p) => p < 0)) {
    throw invalidNode(node, `output_padding [${outputPadding}] must hold ${spatial} values ≥ 0`);
  }
  const dims = x.slice(2).map((size: ShapeDim, i): ShapeDim => {
    if (typeof size !== 'number') return null;
    const stride = window.strides[i];
    if (window.autoPad === 'SAME_UPPER' || window.autoPad === 'SAME_LOWER') return size * stride;
    const kernelSpan = (window.kernel[i] - 1) * window.dilations[i] + 1;
    return stride * (size - 1) + (outputPadding[i] ?? 0) + kernelSpan - window.padsBegin[i] - window.padsEnd[i];
  });
  return [x[0], channels, ...dims];
}

export const convOps: OpSpec[] = [
  {
    opType: 'Conv',
    domain: '',
    requiredInputs: ['X', 'W'],
    infer: convRule(false, convOutput),
    // Every output element is a dot product over C/group · kernel inputs: W's dims after the first.
    macs: (n) => {
      const y = n.output(0)?.shape;
      const w = n.input(1)?.shape;
      return isStaticShape(y) && isStaticShape(w) ? product(y) * product(w.slice(1)) : undefined;
    },
    parameterInputs: [1, 2],
    weightInputs: [1],
    channels: convChannels,
    prune: convPrune,
  },
  {
    opType: 'ConvTranspose',
    domain: '',
    requiredInputs: ['X', 'W'],
    infer: convRule(true, convTransposeOutput),
    // Every input element is scattered through M/group · kernel weights: W's dims after the first.
    macs: (n) => {
      const x = n.input(0)?.shape;
      const w = n.input(1)?.shape;
      return isStaticShape(x) && isStaticShape(w) ? product(x) * product(w.slice(1)) : undefined;
    },
    parameterInputs: [1, 2],
    weightInputs: [1],
    channels: convTransposeChannels,
    prune: convTransposePrune,
  },
];
