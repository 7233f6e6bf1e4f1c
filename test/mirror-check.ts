/** Checks of the tfjs mirror against onnxruntime on small models: the forward pass and the gradients. */
import * as tf from '@tensorflow/tfjs';
import { DataType } from '../src/ir/dtype.js';
import type { Model } from '../src/ir/graph.js';
import { makeTensor } from '../src/ir/tensor.js';
import { buildMirror, type Mirror } from '../src/mirror/mirror.js';
import { toTfjs } from '../src/mirror/tensors.js';
import { encodeModel } from '../src/onnx/write.js';
import { compareOutputs, type OutputComparison, type Tolerance } from '../src/runtime/compare-outputs.js';
import { createSession, runSession, type Feeds } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';

const TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-4 };

function inputsOf(feeds: Feeds): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toTfjs(t)]));
}

/** Each output of the mirror (eval mode) against onnxruntime's, on `feeds`. */
export async function compareWithOrt(model: Model, feeds: Feeds, tolerance = TOLERANCE): Promise<OutputComparison[]> {
  const session = await createSession(encodeModel(model).model);
  const expected = await runSession(session, feeds);
  await session.release();
  const mirror = buildMirror(model);
  try {
    const got = tf.tidy(() => mirror.forward(inputsOf(feeds), { training: false }).map((y) => tf.cast(y, 'float32')));
    const results = expected.map((e, i) => {
      const data = got[i].dataSync() as Float32Array;
      return compareOutputs(e, makeTensor(e.name, DataType.FLOAT, got[i].shape, Float32Array.from(data)), tolerance);
    });
    tf.dispose(got);
    return results;
  } finally {
    mirror.dispose();
  }
}

/** One probed parameter element: the gradient tfjs computed and the central finite difference. */
export interface GradientProbe {
  param: string;
  index: number;
  analytic: number;
  numeric: number;
}

export interface GradientCheck {
  /** Trainable parameters, and those whose gradient came out finite with the parameter's shape. */
  params: string[];
  finite: string[];
  probes: GradientProbe[];
}

/** The scalar L = Σ over outputs of Σ y ⊙ r, with fixed random r of the outputs' shapes. */
function lossOf(mirror: Mirror, inputs: Record<string, tf.Tensor>, weights: Map<number, tf.Tensor>): tf.Scalar {
  const outputs = mirror.forward(inputs, { training: true, seed: 0 });
  return tf.addN(
    outputs.map((y, i) => {
      if (!weights.has(i)) weights.set(i, tf.keep(tf.randomNormal(y.shape, 0, 1, 'float32', 17 + i)));
      return tf.sum(tf.mul(y, weights.get(i)!));
    }),
  ) as tf.Scalar;
}

/**
 * The backward pass of the mirror (training mode) on `feeds`, and for `probes` random elements
 * of each parameter the central difference (L(p + h) − L(p − h)) / 2h of the same loss.
 */
export function gradientCheck(model: Model, feeds: Feeds, options: { probes?: number; h?: number } = {}): GradientCheck {
  const { probes = 3, h = 1e-3 } = options;
  const mirror = buildMirror(model);
  const inputs = inputsOf(feeds);
  const weights = new Map<number, tf.Tensor>();
  try {
    const { value, grads } = tf.variableGrads(() => lossOf(mirror, inputs, weights));
    value.dispose();
    const params = [...mirror.params].filter(([, v]) => v.trainable);
    const finite = params.filter(([, v]) => {
      const g = grads[v.name];
      return g && g.shape.join() === v.shape.join() && tf.tidy(() => g.isFinite().all().dataSync()[0]) === 1;
    });
    const rng = new Rng(5);
    const loss = () => tf.tidy(() => lossOf(mirror, inputs, weights).dataSync()[0]);
    const results: GradientProbe[] = [];
    for (const [param, variable] of params) {
      const values = variable.dataSync() as Float32Array;
      const analytic = grads[variable.name].dataSync();
      const picked = new Set<number>();
      while (picked.size < Math.min(probes, values.length)) picked.add(rng.int(values.length));
      for (const index of picked) {
        const at = (delta: number) => {
          const moved = Float32Array.from(values);
          moved[index] += delta;
          variable.assign(tf.tensor(moved, variable.shape));
          return loss();
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        variable.assign(tf.tensor(values, variable.shape));
        results.push({ param: param.name, index, analytic: analytic[index], numeric });
      }
    }
    tf.dispose(Object.values(grads));
    return { params: params.map(([v]) => v.name), finite: finite.map(([v]) => v.name), probes: results };
  } finally {
    tf.dispose([...Object.values(inputs), ...weights.values()]);
    mirror.dispose();
  }
}

/** Probes whose finite difference and gradient differ by more than `atol + rtol·|numeric|`. */
export function gradientMismatches(check: GradientCheck, tolerance = { atol: 2e-2, rtol: 2e-2 }): GradientProbe[] {
  return check.probes.filter((p) => !(Math.abs(p.analytic - p.numeric) <= tolerance.atol + tolerance.rtol * Math.abs(p.numeric)));
}

/** Float feeds of N(0, 1) for the given inputs and shapes. */
export function randomFeeds(shapes: Record<string, number[]>, seed = 1): Feeds {
  const rng = new Rng(seed);
  return Object.fromEntries(
    Object.entries(shapes).map(([name, dims]) => {
      const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal());
      return [name, makeTensor(name, DataType.FLOAT, dims, data)];
    }),
  );
}
