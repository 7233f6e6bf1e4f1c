import { attrInt } from '../ir/attributes.js';
import { facts, sameAsInput } from './rules.js';
import { normalizeAxis } from './shape-math.js';
import type { OpSpec, ShapeRule } from './spec.js';
import { batchNormChannels, groupNormChannels, groupNormPrune, instanceNormChannels, layerNormChannels } from './channels/normalization.js';

/**
 * Y has X's shape. The optional statistics outputs (training mode: running or batch mean
 * and variance) are per channel, [C], unless the pre-opset-9 `spatial` attribute is 0.
 */
const batchNorm: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const statsType = n.input(3)?.elemType ?? x.elemType;
  const perChannel = attrInt(n.node, 'spatial', 1) !== 0;
  const channels = x.shape && x.shape.length >= 2 && perChannel ? [x.shape[1]] : undefined;
  return [facts(x.elemType, x.shape), ...n.node.outputs.slice(1).map(() => facts(statsType, channels))];
};

/** Y has X's shape; Mean and InvStdDev keep the axes before `axis` and are 1 from there on. */
const layerNorm: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const statsType = attrInt(n.node, 'stash_type', 1);
  const axis = x.shape && normalizeAxis(attrInt(n.node, 'axis', -1), x.shape.length);
  const stats = x.shape && axis !== undefined ? x.shape.map((d, i) => (i < axis ? d : 1)) : undefined;
  return [facts(x.elemType, x.shape), facts(statsType, stats), facts(statsType, stats)];
};

export const normalizationOps: OpSpec[] = [
  {
    opType: 'BatchNormalization',
    domain: '',
    infer: batchNorm,
    parameterInputs: [1, 2],
    bufferInputs: [3, 4],
    channels: batchNormChannels,
  },
  {
    opType: 'InstanceNormalization',
    domain: '',
    infer: sameAsInput,
    parameterInputs: [1, 2],
    channels: instanceNormChannels,
  },
  {
    opType: 'GroupNormalization',
    domain: '',
    infer: sameAsInput,
    parameterInputs: [1, 2],
    channels: groupNormChannels,
    prune: groupNormPrune,
  },
  { opType: 'LayerNormalization', domain: '', infer: layerNorm, parameterInputs: [1, 2], channels: layerNormChannels },
  ...['LpNormalization', 'MeanVarianceNormalization', 'LRN'].map((opType): OpSpec => ({ opType, domain: '', infer: sameAsInput })),
];
