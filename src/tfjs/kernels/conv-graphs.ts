import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from '../../ir/build.js';
import { DataType } from '../../ir/dtype.js';
import type { Value } from '../../ir/graph.js';
import type { Shape } from '../../ir/types.js';
import { encodeModel } from '../../onnx/write.js';

/*
 * ONNX graphs that compute a tfjs convolution kernel on onnxruntime, on the tensors as tfjs
 * holds them: activations NHWC, filters [kh, kw, in, out]. The batch is symbolic, so one graph
 * serves every batch size. Inputs are named as the tfjs kernel's inputs; the output is `y`.
 */

export type ConvGraphKind = 'forward' | 'input-gradient' | 'filter-gradient';

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** [kh, kw, in, out] → ONNX's [out, in, kh, kw] (also ConvTranspose's [in of the transposed conv, out, kh, kw]). */
const FILTER_TO_ONNX = [3, 2, 0, 1];

const input = (g: GraphBuilder, name: string, dims: Shape): Value => g.input(name, DataType.FLOAT, dims);
const transpose = (g: GraphBuilder, x: Value, perm: number[]): Value => g.op('Transpose', [x], { perm });
const reshape = (g: GraphBuilder, x: Value, dims: number[]): Value => g.op('Reshape', [x, g.int64s(dims)]);

/** The encoded model with `y` as its output. */
function finish(g: GraphBuilder, y: Value): Uint8Array {
  g.output(y, 'y');
  return encodeModel(g.model(17, { irVersion: 8 })).model;
}

/** ONNX Conv/ConvTranspose attributes of the forward convolution. */
function convAttributes(info: tf.backend_util.Conv2DInfo): Record<string, number[]> {
  const { top, left, bottom, right } = info.padInfo;
  return {
    kernel_shape: [info.filterHeight, info.filterWidth],
    pads: [top, left, bottom, right],
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
  };
}

function forward(info: tf.backend_util.Conv2DInfo): Uint8Array {
  const g = new GraphBuilder();
  const x = input(g, 'x', ['N', info.inHeight, info.inWidth, info.inChannels]);
  const filter = input(g, 'filter', info.filterShape);
  const y = g.op('Conv', [transpose(g, x, NHWC_TO_NCHW), transpose(g, filter, FILTER_TO_ONNX)], convAttributes(info));
  return finish(g, transpose(g, y, NCHW_TO_NHWC));
}

/**
 * dx as ConvTranspose of dy with the forward filter; output_padding adds the input rows (fewer
 * than a stride) that no output read, which ConvTranspose's size formula leaves out.
 */
function inputGradient(info: tf.backend_util.Conv2DInfo): Uint8Array {
  const g = new GraphBuilder();
  const dy = input(g, 'dy', ['N', info.outHeight, info.outWidth, info.outChannels]);
  const filter = input(g, 'filter', info.filterShape);
  const { top, left, bottom, right } = info.padInfo;
  const covered = (outSize: number, stride: number, effectiveFilter: number, pads: number) => (outSize - 1) * stride + effectiveFilter - pads;
  const dx = g.op('ConvTranspose', [transpose(g, dy, NHWC_TO_NCHW), transpose(g, filter, FILTER_TO_ONNX)], {
    ...convAttributes(info),
    output_padding: [
      info.inHeight - covered(info.outHeight, info.strideHeight, info.effectiveFilterHeight, top + bottom),
      info.inWidth - covered(info.outWidth, info.strideWidth, info.effectiveFilterWidth, left + right),
    ],
  });
  return finish(g, transpose(g, dx, NCHW_TO_NHWC));
}

/**
 * dW[p,q,c,o] = Σ_{n,i,j} xpad[n, i·s + p·d, j·s + q·d, c] · dy[n,i,j,o], as dyᵀ ([O, rows])
 * times each tap's window of x ([rows, C]), the taps' products side by side ([O, kh·kw·C]),
 * transposed to tfjs's [kh, kw, C, O].
 */
function filterGradient(info: tf.backend_util.Conv2DInfo): Uint8Array {
  const g = new GraphBuilder();
  const x = input(g, 'x', ['N', info.inHeight, info.inWidth, info.inChannels]);
  const dy = input(g, 'dy', ['N', info.outHeight, info.outWidth, info.outChannels]);
  const { dyT, windows } = info.strideWidth === 1 ? rowWindows(g, x, dy, info) : stridedWindows(g, x, dy, info);
  const products = windows.map((w) => g.op('MatMul', [dyT, w]));
  const dW = transpose(g, products.length > 1 ? g.op('Concat', products, { axis: 1 }) : products[0], [1, 0]);
  return finish(g, reshape(g, dW, info.filterShape));
}

interface FilterGradientOperands {
  /** dy as [O, rows]. */
  dyT: Value;
  /** Per tap (p, q), row-major, what it reads of x as [rows, C]. */
  windows: Value[];
}

/**
 * With column stride 1, a tap's window is one contiguous run of the padded x flattened over
 * (row, column), if every output row is computed over the padded width Wp instead of ow: the
 * extra Wp − ow columns read past the row's end, and dy padded with zeros there makes them add
 * nothing. One copy per tap, no gather of windows.
 */
function rowWindows(g: GraphBuilder, x: Value, dy: Value, info: tf.backend_util.Conv2DInfo): FilterGradientOperands {
  const { top, left, right } = info.padInfo;
  const [s, dh, dw] = [info.strideHeight, info.dilationHeight, info.dilationWidth];
  const { outHeight: oh, inChannels: channels } = info;
  const width = info.inWidth + left + right;
  const run = oh * width;
  // Rows the last tap's run reaches (it starts q·dw columns into its first row, so one more).
  const rowsNeeded = s === 1 ? (info.filterHeight - 1) * dh + oh + 1 : (info.filterHeight - 1) * dh + s * oh + 1;
  const extraBottom = Math.max(0, rowsNeeded - (info.inHeight + top));
  const padded = g.op('Pad', [x, g.int64s([0, top, left, 0, 0, extraBottom, right, 0])]);
  const flat = (t: Value) => reshape(g, t, [0, -1, channels]);
  const windows: Value[] = [];
  for (let p = 0; p < info.filterHeight; p++) {
    // Stride 1: tap row p starts p·dh rows into the flattened x. Otherwise its rows p·dh, p·dh + s, … first.
    const [rows, base] =
      s === 1
        ? [flat(padded), p * dh * width]
        : [flat(g.op('Slice', [padded, g.int64s([p * dh]), g.int64s([p * dh + s * oh + 1]), g.int64s([1]), g.int64s([s])])), 0];
    for (let q = 0; q < info.filterWidth; q++) {
      const start = base + q * dw;
      windows.push(reshape(g, g.op('Slice', [rows, g.int64s([start]), g.int64s([start + run]), g.int64s([1])]), [-1, channels]));
    }
  }
  const dyWide = g.op('Pad', [dy, g.int64s([0, 0, 0, 0, 0, 0, width - info.outWidth, 0])]);
  return { dyT: transpose(g, reshape(g, dyWide, [-1, info.outChannels]), [1, 0]), windows };
}

/** Any strides: each tap's strided window of the padded x, gathered by a strided Slice. */
function stridedWindows(g: GraphBuilder, x: Value, dy: Value, info: tf.backend_util.Conv2DInfo): FilterGradientOperands {
  const { top, left, bottom, right } = info.padInfo;
  const padded = top + left + bottom + right > 0 ? g.op('Pad', [x, g.int64s([0, top, left, 0, 0, bottom, right, 0])]) : x;
  const strides = [info.strideHeight, info.strideWidth];
  const windows: Value[] = [];
  for (let p = 0; p < info.filterHeight; p++) {
    for (let q = 0; q < info.filterWidth; q++) {
      const starts = [p * info.dilationHeight, q * info.dilationWidth];
      const ends = [starts[0] + (info.outHeight - 1) * strides[0] + 1, starts[1] + (info.outWidth - 1) * strides[1] + 1];
      const tap = g.op('Slice', [padded, g.int64s(starts), g.int64s(ends), g.int64s([1, 2]), g.int64s(strides)]);
      windows.push(reshape(g, tap, [-1, info.inChannels]));
    }
  }
  return { dyT: transpose(g, reshape(g, dy, [-1, info.outChannels]), [1, 0]), windows };
}

const BUILDERS: Record<ConvGraphKind, (info: tf.backend_util.Conv2DInfo) => Uint8Array> = {
  forward,
  'input-gradient': inputGradient,
  'filter-gradient': filterGradient,
};

/** The encoded ONNX model computing `kind` of the NHWC convolution `info` (its batch size free). */
export function convGraph(kind: ConvGraphKind, info: tf.backend_util.Conv2DInfo): Uint8Array {
  return BUILDERS[kind](info);
}

/** What determines `kind`'s graph for `info`: equal keys, equal graphs. */
export function convGraphKey(kind: ConvGraphKind, info: tf.backend_util.Conv2DInfo): string {
  const { padInfo } = info;
  return [
    kind,
    info.inHeight,
    info.inWidth,
    info.outHeight,
    info.outWidth,
    ...info.filterShape,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    padInfo.top,
    padInfo.left,
    padInfo.bottom,
    padInfo.right,
  ].join(',');
}
