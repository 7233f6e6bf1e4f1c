import { attrInts, attrString } from '../ir/attributes.js';
import type { Node } from '../ir/graph.js';
import type { ShapeDim } from './shape-math.js';
import { invalidNode } from './rules.js';

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
 * The window of `node` over `spatialRank` axes; `kernel` is what the weight's dims say (when
 * known). Undefined when the kernel is not known. A node whose attributes break the spec
 * (lengths that do not match the spatial rank, strides or dilations below 1, negative pads,
 * an unknown auto_pad, a kernel_shape that disagrees with the weight) is refused.
 */
export function readWindow(node: Node, spatialRank: number, kernel: number[] | undefined): Window | undefined {
  const ones = new Array<number>(spatialRank).fill(1);
  const given = attrInts(node, 'kernel_shape');
  const strides = attrInts(node, 'strides', ones);
  const dilations = attrInts(node, 'dilations', ones);
  const pads = attrInts(node, 'pads', new Array<number>(2 * spatialRank).fill(0));
  const autoPad = attrString(node, 'auto_pad', 'NOTSET') as Window['autoPad'];
  const check = (name: string, list: number[], length: number, ok: (v: number) => boolean, rule: string) => {
    if (list.length !== length) throw invalidNode(node, `${name} has ${list.length} entries, but the input has ${spatialRank} spatial axes`);
    if (!list.every(ok)) throw invalidNode(node, `${name} [${list}] ${rule}`);
  };
  check('strides', strides, spatialRank, (v) => v >= 1, 'must be positive');
  check('dilations', dilations, spatialRank, (v) => v >= 1, 'must be positive');
  check('pads', pads, 2 * spatialRank, (v) => v >= 0, 'must not be negative');
  if (!AUTO_PADS.has(autoPad)) throw invalidNode(node, `auto_pad '${autoPad}' is none of ${[...AUTO_PADS].join(', ')}`);
  if (given && kernel && given.join() !== kernel.join()) {
    throw invalidNode(node, `kernel_shape [${given}] disagrees with the weight's kernel [${kernel}]`);
  }
  const k = given ?? kernel;
  if (!k) return undefined;
  check('kernel_shape', k, spatialRank, (v) => v >= 1, 'must be positive');
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

/** slidingOutputDims for a node's output: a window that does not fit its padded input is refused. */
export function windowOutputDims(node: Node, inDims: readonly ShapeDim[], w: Window, ceilMode = false): ShapeDim[] {
  const dims = slidingOutputDims(inDims, w, ceilMode);
  dims.forEach((d, i) => {
    if (d === null && typeof inDims[i] === 'number') {
      const span = (w.kernel[i] - 1) * w.dilations[i] + 1;
      throw invalidNode(node, `its window (${span} wide on spatial axis ${i}) does not fit the padded input (${inDims[i]} + ${w.padsBegin[i]} + ${w.padsEnd[i]})`);
    }
  });
  return dims;
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
