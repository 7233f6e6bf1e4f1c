/** Sliding-window geometry of the tfjs conv and pool kernels, which work on 2-D NHWC tensors. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../../errors.js';
import type { Node } from '../../ir/graph.js';
import type { NodeFacts } from '../../ops/spec.js';
import { unsupported } from './rule.js';
import { readWindow, type Window } from '../../ops/sliding-window.js';

/**
 * The window of a 1-D or 2-D conv or pool node, as 2-D: a 1-D window gains a leading unit
 * axis, matching `lift1d`. `kernel` is what the weight's dims say, when known.
 */
export function planarWindow(node: Node, spatial: number, kernel: number[] | undefined): Window {
  if (spatial !== 1 && spatial !== 2) throw unsupported(node, `${spatial}-D windows (only 1-D and 2-D)`);
  const w = readWindow(node, spatial, kernel);
  if (!w) throw new OtocError(`node ${node.label()}: kernel_shape, strides, dilations, pads or auto_pad do not fit ${spatial} spatial axes`);
  if (spatial === 2) return w;
  const lift = (values: number[], unit: number) => [unit, ...values];
  return {
    kernel: lift(w.kernel, 1),
    strides: lift(w.strides, 1),
    dilations: lift(w.dilations, 1),
    padsBegin: lift(w.padsBegin, 0),
    padsEnd: lift(w.padsEnd, 0),
    autoPad: w.autoPad,
  };
}

/** Spatial axes of a node's data input: its rank minus batch and channels, from input `index`'s static rank. */
export function spatialRank(n: NodeFacts, index: number): number {
  const rank = n.input(index)?.shape?.length;
  if (rank === undefined) throw unsupported(n.node, 'an input of unknown rank');
  return rank - 2;
}

/** A channels-last 1-D tensor [N, L, C] as 2-D [N, 1, L, C]; 2-D tensors pass. */
export function lift1d(x: tf.Tensor, spatial: number): tf.Tensor4D {
  return (spatial === 1 ? tf.expandDims(x, 1) : x) as tf.Tensor4D;
}

/** The inverse of lift1d. */
export function lower1d(y: tf.Tensor, spatial: number): tf.Tensor {
  return spatial === 1 ? tf.squeeze(y, [1]) : y;
}

export interface Pads {
  begin: number[];
  end: number[];
}

/** The pads of a window over inputs of `sizes`: as given, or what auto_pad SAME_UPPER / SAME_LOWER asks for. */
export function resolvedPads(w: Window, sizes: readonly number[]): Pads {
  if (w.autoPad !== 'SAME_UPPER' && w.autoPad !== 'SAME_LOWER') return { begin: w.padsBegin, end: w.padsEnd };
  const total = sizes.map((size, i) => {
    const out = Math.ceil(size / w.strides[i]);
    return Math.max((out - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - size, 0);
  });
  // SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the beginning.
  const begin = total.map((t) => (w.autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
  return { begin, end: total.map((t, i) => t - begin[i]) };
}

/** tfjs explicit padding of an NHWC tensor. */
export function explicitPadding(p: Pads): tf.backend_util.ExplicitPadding {
  return [[0, 0], [p.begin[0], p.end[0]], [p.begin[1], p.end[1]], [0, 0]];
}

/** Extent of a kernel of `size` taps `dilation` apart. */
export function kernelSpan(size: number, dilation: number): number {
  return (size - 1) * dilation + 1;
}
