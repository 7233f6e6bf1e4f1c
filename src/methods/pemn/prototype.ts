/**
 * PEMN's prototypes (design.md §3; the reference's `one_layer` and `MP_RP`): every masked layer's
 * weights are built from one short random vector, so that the file stores only that vector, the
 * masks and, per layer, at most one scale.
 *
 * - one-layer: each distinct weight shape draws its own random tensor; layers of equal shapes
 *   share it.
 * - mp (max-layer padding): the prototype is the random initialization of the largest layer;
 *   every layer takes its first `size` values in row-major order.
 * - rp (random-vector padding, ratio r): the stored vector is the first ⌊r·N_max⌋ + 1 values of
 *   the mp prototype, tiled end to end to N_max; every layer takes its first `size` values.
 *
 * Values are Kaiming-normal (fan-in, ReLU gain) for the layer they were drawn for. With
 * `layerScale`, a layer whose fan-in differs from that layer's multiplies its slice by
 * √(fan-in of the drawn layer / its own fan-in), so that each layer starts at its own Kaiming
 * scale; the reference code uses the largest layer's scale for every layer.
 */
import { OtocError } from '../../errors.js';
import { Rng } from '../../util/random.js';
import type { MaskedLayer } from './layers.js';

export const PROTOTYPE_STRATEGIES = ['one-layer', 'mp', 'rp'] as const;
export type PrototypeStrategy = (typeof PROTOTYPE_STRATEGIES)[number];

export interface PrototypeSettings {
  prototype: PrototypeStrategy;
  /** rp: the stored vector's share of the largest layer. */
  ratio?: number;
  layerScale: boolean;
  seed: number;
}

/** Where one layer's weights come from. */
export interface LayerSource {
  name: string;
  dims: number[];
  size: number;
  /** Start of the layer's values in the expanded prototype. */
  offset: number;
  /** The float32 factor of the layer's slice; 1 when none is stored. */
  scale: number;
}

export interface Prototype {
  strategy: PrototypeStrategy;
  /** What the file stores. */
  values: Float32Array;
  /** The stored values tiled end to end to this length (rp); for the others, their own length. */
  expandedLength: number;
  layers: LayerSource[];
}

/** The prototype of `layers`: the same settings give the same values, bit for bit. */
export function buildPrototype(layers: readonly MaskedLayer[], settings: PrototypeSettings): Prototype {
  const rng = new Rng(streamSeed(settings.seed, PROTOTYPE_STREAM));
  const scale = (drawnFanIn: number, fanIn: number) => (settings.layerScale ? Math.fround(Math.sqrt(drawnFanIn / fanIn)) : 1);
  const source = (l: MaskedLayer, offset: number, drawnFanIn: number): LayerSource => ({
    name: l.value.name,
    dims: l.dims,
    size: l.size,
    offset,
    scale: scale(drawnFanIn, l.fanIn),
  });
  if (settings.prototype === 'one-layer') {
    const drawn = new Map<string, { offset: number; fanIn: number }>();
    const chunks: Float32Array[] = [];
    let length = 0;
    const sources = layers.map((l) => {
      const key = l.dims.join('x');
      let shared = drawn.get(key);
      if (!shared) {
        drawn.set(key, (shared = { offset: length, fanIn: l.fanIn }));
        chunks.push(kaimingNormal(rng, l.size, l.fanIn));
        length += l.size;
      }
      return source(l, shared.offset, shared.fanIn);
    });
    const values = new Float32Array(length);
    chunks.reduce((at, c) => (values.set(c, at), at + c.length), 0);
    return { strategy: 'one-layer', values, expandedLength: length, layers: sources };
  }
  const largest = layers.reduce((a, l) => (l.size > a.size ? l : a));
  const full = kaimingNormal(rng, largest.size, largest.fanIn);
  const values = settings.prototype === 'mp' ? full : full.slice(0, rpLength(largest.size, settings.ratio));
  return { strategy: settings.prototype, values, expandedLength: largest.size, layers: layers.map((l) => source(l, 0, largest.fanIn)) };
}

/** rp's stored length for a largest layer of `size` weights: ⌊r·size⌋ + 1, as the reference's int(numel·ratio) + 1, at most `size`. */
export function rpLength(size: number, ratio: number | undefined): number {
  if (ratio === undefined || !(ratio > 0 && ratio <= 1)) throw new OtocError(`--ratio must be in (0, 1], got ${ratio}`);
  return Math.min(size, Math.floor(ratio * size) + 1);
}

/** Layer `index`'s weights (row-major, its dims): its slice of the expanded prototype, times its scale. */
export function layerWeights(p: Prototype, index: number): Float32Array {
  const { offset, size, scale } = p.layers[index];
  const n = p.values.length;
  const out = new Float32Array(size);
  for (let j = 0; j < size; j++) out[j] = p.values[(offset + j) % n] * scale;
  return out;
}

/** N(0, 2/fanIn) in float32: PyTorch's kaiming_normal_(mode='fan_in', nonlinearity='relu'). */
function kaimingNormal(rng: Rng, count: number, fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  return Float32Array.from({ length: count }, () => rng.normal() * std);
}

export const PROTOTYPE_STREAM = 0x50524f54;
export const SCORES_STREAM = 0x53434f52;

/** A seed of its own for each random stream of a run (prototype, scores) from the run's --seed. */
export function streamSeed(seed: number, stream: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ stream) >>> 0;
}
