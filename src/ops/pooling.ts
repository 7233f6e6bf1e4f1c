import { DataType } from '../ir/dtype.js';
import { attrInt } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { facts } from './rules.js';
import type { OpSpec, ShapeRule } from './spec.js';
import { readWindow, slidingOutputDims } from './sliding-window.js';
import { spatialChannels } from './channels/pooling.js';

/** X is [N, C, spatial...]; the window comes from the attributes. MaxPool's second output holds int64 indices. */
const pool: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined, undefined];
  let shape: Shape | undefined;
  if (x.shape && x.shape.length >= 3) {
    const window = readWindow(n.node, x.shape.length - 2, undefined);
    const ceilMode = attrInt(n.node, 'ceil_mode', 0) !== 0;
    shape = window && [x.shape[0], x.shape[1], ...slidingOutputDims(x.shape.slice(2), window, ceilMode)];
  }
  return [facts(x.elemType, shape), facts(DataType.INT64, shape)];
};

/** [N, C, spatial...] → [N, C, 1, ...]. */
const globalPool: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const shape = x.shape && x.shape.length >= 3 ? [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] : undefined;
  return [facts(x.elemType, shape)];
};

export const poolingOps: OpSpec[] = [
  ...['MaxPool', 'AveragePool', 'LpPool'].map(
    (opType): OpSpec => ({ opType, domain: '', infer: pool, channels: spatialChannels }),
  ),
  ...['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool'].map(
    (opType): OpSpec => ({ opType, domain: '', infer: globalPool, channels: spatialChannels }),
  ),
];
