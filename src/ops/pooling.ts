import { DataType } from '../ir/dtype.js';
import { attrInt } from '../ir/attributes.js';
import type { Shape } from '../ir/types.js';
import { facts, invalidNode } from './rules.js';
import type { NodeFacts, OpSpec, ShapeRule } from './spec.js';
import { readWindow, slidingOutputDims } from './sliding-window.js';
import { spatialChannels } from './channels/pooling.js';

/**
 * X is [N, C, spatial...]; the window comes from the attributes (kernel_shape is required, and
 * onnxruntime wants each pad smaller than the kernel). MaxPool's second output holds int64 indices.
 */
const pool: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined, undefined];
  let shape: Shape | undefined;
  if (x.shape) {
    const spatial = checkedSpatialRank(n, x.shape);
    const window = readWindow(n.node, spatial, undefined);
    if (!window) throw invalidNode(n.node, 'kernel_shape is required');
    const pads = [...window.padsBegin, ...window.padsEnd];
    if (pads.some((p, i) => p >= window.kernel[i % spatial])) {
      throw invalidNode(n.node, `pads [${pads}] must each be smaller than the kernel [${window.kernel}]`);
    }
    const ceilMode = attrInt(n.node, 'ceil_mode', 0) !== 0;
    // A window larger than the padded input is not refused here: onnxruntime pools it to an empty output.
    shape = [x.shape[0], x.shape[1], ...slidingOutputDims(x.shape.slice(2), window, ceilMode)];
  }
  return [facts(x.elemType, shape), facts(DataType.INT64, shape)];
};

/** The number of spatial axes of X = [N, C, spatial...]; an X of rank below 3 is refused. */
function checkedSpatialRank(n: NodeFacts, x: Shape): number {
  if (x.length < 3) throw invalidNode(n.node, `X has rank ${x.length}; it must be [N, C, spatial...]`);
  return x.length - 2;
}

/** [N, C, spatial...] → [N, C, 1, ...]. */
const globalPool: ShapeRule = (n) => {
  const x = n.input(0);
  if (!x) return [undefined];
  const shape = x.shape && [x.shape[0], x.shape[1], ...new Array<number>(checkedSpatialRank(n, x.shape)).fill(1)];
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
