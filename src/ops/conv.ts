import { attrInt, attrInts } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import type { Shape } from '../ir/types.js';
import { facts } from './rules.js';
import { isStaticShape, product, type ShapeDim } from './shape-math.js';
import type { OpSpec, ShapeRule } from './spec.js';
import { readWindow, slidingOutputDims, type Window } from './windows.js';
import { convChannels, convTransposeChannels } from './channels/stems.js';
import { convPrune, convTransposePrune } from './channels/rewrites.js';
import { convTfjs, convTransposeTfjs } from './tfjs/conv.js';

/** X is [N, C, spatial...] and W is [M, C/group, kernel...] (Conv) or [C, M/group, kernel...] (ConvTranspose). */
function convRule(outputDims: (node: Node, x: Shape, w: Shape | undefined, window: Window) => Shape): ShapeRule {
  return (n) => {
    const x = n.input(0);
    if (!x) return [undefined];
    const w = n.input(1)?.shape;
    if (!x.shape || x.shape.length < 3 || (w && w.length !== x.shape.length)) return [{ elemType: x.elemType }];
    const kernelFromWeight = w?.slice(2);
    const window = readWindow(n.node, x.shape.length - 2, isStaticShape(kernelFromWeight) ? kernelFromWeight : undefined);
    return [facts(x.elemType, window && outputDims(n.node, x.shape, w, window))];
  };
}

const convOutput = (_node: Node, x: Shape, w: Shape | undefined, window: Window): Shape => [
  x[0],
  w?.[0] ?? null,
  ...slidingOutputDims(x.slice(2), window),
];

function convTransposeOutput(node: Node, x: Shape, w: Shape | undefined, window: Window): Shape {
  const spatial = x.length - 2;
  const channelsPerGroup = w?.[1];
  const channels = typeof channelsPerGroup === 'number' ? channelsPerGroup * attrInt(node, 'group', 1) : null;
  // An explicit output_shape decides the spatial size (pads are derived from it); it may also list N and C.
  const explicit = attrInts(node, 'output_shape');
  if (explicit) return [x[0], channels, ...explicit.slice(-spatial)];
  const outputPadding = attrInts(node, 'output_padding', new Array<number>(spatial).fill(0));
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
    infer: convRule(convOutput),
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
    tfjs: convTfjs,
  },
  {
    opType: 'ConvTranspose',
    domain: '',
    infer: convRule(convTransposeOutput),
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
    tfjs: convTransposeTfjs,
  },
];
