import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** A kernel's input `name`, which must be a float32 tensor of rank 4. */
export function tensor4D(info: tf.TensorInfo | undefined, name: string): tf.Tensor4D {
  if (!(info instanceof tf.Tensor) || info.rank !== 4) throw new Error(`expected a rank-4 tensor for ${name}`);
  if (info.dtype !== 'float32') throw new Error(`expected float32 for ${name}, got ${info.dtype}`);
  return info as tf.Tensor4D;
}

/**
 * The float32 values of `t` where they lie in the wasm heap, read and written in place. Take it
 * after allocating a kernel's outputs: allocating can grow the heap, which detaches earlier views.
 */
export function heapFloats(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * The Window fields of native/src/window.h, in order: a convolution's or pool's sizes, filter,
 * strides, dilations, pads and `groups`.
 */
export function windowParams(info: tf.backend_util.Conv2DInfo, groups: number): Float64Array {
  const { top, left, bottom, right } = info.padInfo;
  return Float64Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    top,
    left,
    bottom,
    right,
    groups,
  );
}
