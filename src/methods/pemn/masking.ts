/**
 * PEMN's hooks on every network (the main thread's and each worker thread's): one score per
 * weight of each masked layer, trained in place of the frozen weights, and the weight transform
 * that applies the masks (edge-popup): forward, W ⊙ topk(|S|); backward, straight through the
 * top-k to the scores, ∂L/∂S = ∂L/∂W' ⊙ W ⊙ sign(S), as the reference's GetSubnet on |S|.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Value } from '../../ir/graph.js';
import { Rng } from '../../util/random.js';
import type { NetworkHooks, NetworkSetup } from '../method.js';
import { maskedLayers, type MaskedLayer } from './layers.js';
import { topKMask } from './mask.js';
import { SCORES_STREAM, streamSeed } from './prototype.js';

export interface MaskingSettings {
  keep: number;
  seed: number;
}

/** The initial scores of `layers`, in their order: Kaiming-uniform with a = √5, U(±1/√fan-in). */
export function initialScores(layers: readonly MaskedLayer[], seed: number): Float32Array[] {
  const rng = new Rng(streamSeed(seed, SCORES_STREAM));
  return layers.map((l) => {
    const bound = 1 / Math.sqrt(l.fanIn);
    return Float32Array.from({ length: l.size }, () => rng.uniform(-bound, bound));
  });
}

export function maskingHooks(settings: MaskingSettings, { model, mirror, tf }: NetworkSetup): NetworkHooks {
  const layers = maskedLayers(model);
  const initial = initialScores(layers, settings.seed);
  const scores = new Map<Value, tfjs.Variable>(
    layers.map((l, i) => {
      const values = tf.tensor(initial[i], l.dims);
      const variable = tf.variable(values);
      values.dispose();
      return [l.value, variable];
    }),
  );
  // The mask of each layer, made again only when its scores were assigned new values (a new dataId).
  const masks = new Map<Value, { of: object; mask: tfjs.Tensor }>();
  const maskOf = (param: Value, s: tfjs.Variable): tfjs.Tensor => {
    const cached = masks.get(param);
    if (cached?.of === s.dataId) return cached.mask;
    cached?.mask.dispose();
    const mask = tf.keep(tf.tensor(Float32Array.from(topKMask(s.dataSync() as Float32Array, settings.keep)), s.shape));
    masks.set(param, { of: s.dataId, mask });
    return mask;
  };
  return {
    trainedVariables: () => new Map([...mirror.params].map(([v, variable]) => [v, scores.get(v) ?? variable])),
    transform(param, weight) {
      const s = scores.get(param);
      if (!s) return weight;
      const mask = maskOf(param, s);
      const masked = tf.customGrad((...inputs) => {
        const x = inputs[0] as tfjs.Tensor;
        return { value: tf.mul(weight, mask), gradFunc: (dy: tfjs.Tensor) => tf.mul(dy, tf.mul(weight, tf.sign(x))) };
      });
      return masked(s);
    },
    dispose() {
      tf.dispose([...scores.values(), ...[...masks.values()].map((m) => m.mask)]);
      masks.clear();
    },
  };
}
