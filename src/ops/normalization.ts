import { attrInt } from '../ir/attributes.js';
import { formatShape } from '../ir/types.js';
import { FLOAT_TYPES, checkInputType, checkedAxis, facts, invalidNode, sameAsInput } from './rules.js';
import type { ShapeDim } from './shape-math.js';
import type { NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { batchNormChannels, groupNormChannels, groupNormPrune, instanceNormChannels, layerNormChannels } from './channels/normalization.js';

/**
 * Y has X's shape. The optional statistics outputs (training mode: running or batch mean
 * and variance) are per channel, [C], unless the pre-opset-9 `spatial` attribute is 0.
 */
const batchNorm: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  for (const i of [0, 1, 2, 3, 4]) checkInputType(n, i, FLOAT_TYPES);
  const statsType = n.input(3)?.elemType ?? x.elemType;
  const perChannel = attrInt(n.node, 'spatial', 1) !== 0;
  if (x.shape && x.shape.length < 2) throw invalidNode(n.node, `X has rank ${x.shape.length}; it must be [N, C, ...]`);
  const channels = x.shape && perChannel ? [x.shape[1]] : undefined;
  if (channels) checkPerChannel(n, [1, 2, 3, 4], channels[0]);
  return [facts(x.elemType, x.shape), ...n.node.outputs.slice(1).map(() => facts(statsType, channels))];
};

/** Inputs `indices` (scale, bias, statistics) must each be a vector of one value per channel. */
function checkPerChannel(n: NodeFacts, indices: number[], channels: ShapeDim): void {
  for (const i of indices) {
    const shape = n.node.input(i) ? n.input(i)?.shape : undefined;
    if (!shape) continue;
    const fits = shape.length === 1 && (typeof shape[0] !== 'number' || typeof channels !== 'number' || shape[0] === channels);
    if (!fits) throw invalidNode(n.node, `input ${i} has shape ${formatShape(shape)}, but X has ${channels ?? '?'} channels`);
  }
}

const instanceNorm: ShapeRule = (n) => {
  const x = n.input(0);
  if (x?.shape && x.shape.length < 3) throw invalidNode(n.node, `X has rank ${x.shape.length}; it must be [N, C, spatial...]`);
  if (x?.shape) checkPerChannel(n, [1, 2], x.shape[1]);
  return sameAsInput(n);
};

/** Y has X's shape; Mean and InvStdDev keep the axes before `axis` and are 1 from there on. */
const layerNorm: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const statsType = attrInt(n.node, 'stash_type', 1);
  const axis = x.shape && checkedAxis(n, attrInt(n.node, 'axis', -1), x.shape.length);
  const stats = x.shape && axis !== undefined ? x.shape.map((d, i) => (i < axis ? d : 1)) : undefined;
  return [facts(x.elemType, x.shape), facts(statsType, stats), facts(statsType, stats)];
};

export const normalizationOps: OpSpec[] = [
  {
    opType: 'BatchNormalization',
    domain: '',
    requiredInputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
    infer: batchNorm,
    parameterInputs: [1, 2],
    bufferInputs: [3, 4],
    channels: batchNormChannels,
  },
  {
    opType: 'InstanceNormalization',
    domain: '',
    requiredInputs: ['input', 'scale', 'B'],
    infer: instanceNorm,
    parameterInputs: [1, 2],
    channels: instanceNormChannels,
  },
  {
    opType: 'GroupNormalization',
    domain: '',
    requiredInputs: ['X', 'scale', 'bias'],
    infer: sameAsInput,
    parameterInputs: [1, 2],
    channels: groupNormChannels,
    prune: groupNormPrune,
  },
  { opType: 'LayerNormalization', domain: '', requiredInputs: ['X', 'Scale'], infer: layerNorm, parameterInputs: [1, 2], channels: layerNormChannels },
  ...['LpNormalization', 'MeanVarianceNormalization', 'LRN'].map((opType): OpSpec => ({ opType, domain: '', infer: sameAsInput })),
];
