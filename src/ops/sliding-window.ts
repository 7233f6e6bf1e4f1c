import { attrInts, attrString } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import type { ShapeDim } from './shape-math.js';

/** Sliding-window attributes shared by Conv, ConvTranspose and the pooling ops, one entry per spatial axis. */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
}

const AUTO_PADS = new Set<Window['autoPad']>(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);

/**
 * The window of `node` over `spatialRank` axes; `kernel` is the kernel_shape attribute or
 * what the weight's dims say. Undefined when an attribute has the wrong length.
 */
export function readWindow(node: Node, spatialRank: number, kernel: number[] | undefined): Window | undefined {
  const ones = new Array<number>(spatialRank).fill(1);
  const k = attrInts(node, 'kernel_shape') ?? kernel;
  const strides = attrInts(node, 'strides', ones);
  const dilations = attrInts(node, 'dilations', ones);
  const pads = attrInts(node, 'pads', new Array<number>(2 * spatialRank).fill(0));
  const autoPad = attrString(node, 'auto_pad', 'NOTSET') as Window['autoPad'];
  const lengthsOk =
    k?.length === spatialRank && strides.length === spatialRank && dilations.length === spatialRank && pads.length === 2 * spatialRank;
  if (!lengthsOk || !AUTO_PADS.has(autoPad)) return undefined;
  const valid = autoPad === 'VALID';
  return {
    kernel: k,
    strides,
    dilations,
    padsBegin: valid ? ones.map(() => 0) : pads.slice(0, spatialRank),
    padsEnd: valid ? ones.map(() => 0) : pads.slice(spatialRank),
    autoPad,
  };
}

/**
 * Output sizes of a window sliding over `inDims` (Conv, pooling). With `ceilMode` a
 * partial last window counts, unless it would start in the end padding (as PyTorch and
 * onnxruntime do). Null for an unknown input size or an empty output.
 */
export function slidingOutputDims(inDims: readonly ShapeDim[], w: Window, ceilMode = false): ShapeDim[] {
  return inDims.map((size, i) => {
    if (typeof size !== 'number') return null;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return Math.ceil(size / w.strides[i]);
    const padded = size + w.padsBegin[i] + w.padsEnd[i];
    const span = padded - w.dilations[i] * (w.kernel[i] - 1) - 1;
    if (span < 0) return null;
    let out = (ceilMode ? Math.ceil(span / w.strides[i]) : Math.floor(span / w.strides[i])) + 1;
    if (ceilMode && (out - 1) * w.strides[i] >= size + w.padsBegin[i]) out--;
    return out;
  });
}
