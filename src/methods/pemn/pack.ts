/**
 * PEMN's two files from one trained model (design.md §3):
 * - the packed model: an ordinary ONNX file whose initializers are the prototype, any per-layer
 *   scales and the masks packed 8 per uint8, and whose standard ops rebuild each masked weight
 *   at load time, at the model's own opset (onnxruntime folds the rebuild away at session start);
 * - the materialized model: the same graph with the rebuilt weights as dense float initializers.
 *
 * The rebuild, once for all layers: BitShift the mask bytes right by 0…7, keep the low bit
 * (BitwiseAnd from opset 18, Mod before), Cast to float, flatten; the prototype is Tiled to the
 * largest layer (rp). Then per layer: Slice its bits and its prototype values, Mul them, Mul its
 * scale (when it has one), Reshape to the weight's dims. Everything else (biases, BatchNorm) is
 * kept as it is.
 */
import { OtocError } from '../../errors.js';
import { DataType, type NumericArray } from '../../ir/dtype.js';
import type { Attribute, Graph, Model, Value } from '../../ir/graph.js';
import { makeTensor } from '../../ir/tensor.js';
import { decodeModel } from '../../onnx/read.js';
import { encodeModel } from '../../onnx/write.js';
import { packBits } from './mask.js';
import { layerWeights, type Prototype } from './prototype.js';

/** Model metadata that marks a packed file (its value: what `PackedFileInfo` says, as JSON). */
export const PACKED_METADATA_KEY = 'otoc.packed';

/** What a packed file says about itself in its metadata. */
export interface PackedFileInfo {
  method: 'pemn';
  prototype: Prototype['strategy'];
  prototypeLength: number;
  keep: number;
  maskedLayers: number;
  maskedWeights: number;
}

/** The first opset with BitShift, which unpacks the masks. */
export const MIN_PACK_OPSET = 11;
/** From this opset on the low bit is taken with BitwiseAnd, before with Mod. */
const BITWISE_AND_OPSET = 18;

export interface PackedModels {
  packed: Model;
  materialized: Model;
  info: PackedFileInfo;
}

/**
 * The packed and the materialized model of `model` (not changed), whose masked layers are
 * `prototype.layers`, with `masks[i]` (one byte per weight, 0 or 1) the mask of layer i.
 */
export function packModel(model: Model, prototype: Prototype, masks: readonly Uint8Array[], keep: number): PackedModels {
  const opset = model.opset('') ?? 0;
  if (opset < MIN_PACK_OPSET) {
    throw new OtocError(`PEMN writes its masks with BitShift, which needs ai.onnx opset ${MIN_PACK_OPSET} or newer; the model imports opset ${opset}`);
  }
  // Times 0 or 1, as the packed file computes it: a dropped weight is a zero of the prototype value's sign.
  const weights = masks.map((mask, i) => layerWeights(prototype, i).map((w, j) => w * mask[j]));
  const materialized = copyOf(model);
  setLayerWeights(materialized, prototype, weights);

  const packed = copyOf(model);
  const info: PackedFileInfo = {
    method: 'pemn',
    prototype: prototype.strategy,
    prototypeLength: prototype.values.length,
    keep,
    maskedLayers: prototype.layers.length,
    maskedWeights: prototype.layers.reduce((a, l) => a + l.size, 0),
  };
  new Rebuild(packed.graph, opset).weights(prototype, masks);
  packed.metadataProps = [...(model.metadataProps ?? []).filter((kv) => kv.key !== PACKED_METADATA_KEY), { key: PACKED_METADATA_KEY, value: JSON.stringify(info) }];
  return { packed, materialized, info };
}

/** What a packed file's metadata says, or undefined for any other model. */
export function packedFileInfo(model: Model): PackedFileInfo | undefined {
  const entry = model.metadataProps?.find((kv) => kv.key === PACKED_METADATA_KEY);
  return entry && (JSON.parse(entry.value) as PackedFileInfo);
}

/** A copy of `model` (which keeps no external data). */
export function copyOf(model: Model): Model {
  const { model: bytes, external } = encodeModel(model);
  if (external.size) throw new OtocError('PEMN cannot pack a model whose weights are stored as external data');
  return decodeModel(bytes);
}

/** Writes `weights[i]` into the initializer of the prototype's layer i. */
export function setLayerWeights(model: Model, prototype: Prototype, weights: readonly Float32Array[]): void {
  prototype.layers.forEach((layer, i) => {
    const value = model.graph.lookup(layer.name)!;
    model.graph.addInitializer(value, { ...value.constant!, data: weights[i] });
  });
}

/** The nodes and initializers that rebuild the masked weights, added at the head of `graph`. */
class Rebuild {
  private at = 0;
  private readonly ints_ = new Map<string, Value>();

  constructor(
    private readonly graph: Graph,
    private readonly opset: number,
  ) {}

  weights(prototype: Prototype, masks: readonly Uint8Array[]): void {
    const bits = this.unpackedMasks(masks);
    const stored = this.constant('pemn.prototype', DataType.FLOAT, [prototype.values.length], prototype.values);
    const tiles = Math.ceil(prototype.expandedLength / prototype.values.length);
    const expanded = tiles > 1 ? this.node('Tile', [stored, this.ints([tiles])], 'pemn.prototype_tiled') : stored;
    let bitOffset = 0;
    prototype.layers.forEach((layer, i) => {
      const mask = this.slice(bits, bitOffset, layer.size, `pemn.m${i}`);
      const values = this.slice(expanded, layer.offset, layer.size, `pemn.p${i}`);
      let weight = this.node('Mul', [mask, values], `pemn.w${i}`);
      if (layer.scale !== 1) weight = this.node('Mul', [weight, this.constant(`pemn.s${i}`, DataType.FLOAT, [], Float32Array.of(layer.scale))], `pemn.ws${i}`);
      const target = this.graph.lookup(layer.name)!;
      this.graph.initializers = this.graph.initializers.filter((v) => v !== target);
      this.graph.inputs = this.graph.inputs.filter((v) => v !== target);
      target.constant = undefined;
      this.graph.addNode('Reshape', [weight, this.ints(layer.dims)], [target], this.at++);
      bitOffset += layer.size;
    });
  }

  /** Every layer's mask bits, concatenated and packed, as a float vector of 0s and 1s. */
  private unpackedMasks(masks: readonly Uint8Array[]): Value {
    const all = new Uint8Array(masks.reduce((a, m) => a + m.length, 0));
    masks.reduce((at, m) => (all.set(m, at), at + m.length), 0);
    const bytes = packBits(all);
    const packed = this.constant('pemn.masks', DataType.UINT8, [bytes.length, 1], bytes);
    const shifts = this.constant('pemn.bit_shifts', DataType.UINT8, [8], Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7));
    const direction: Attribute = { name: 'direction', type: 'string', value: new TextEncoder().encode('RIGHT') };
    const shifted = this.node('BitShift', [packed, shifts], 'pemn.masks_shifted', [direction]);
    const low =
      this.opset >= BITWISE_AND_OPSET
        ? this.node('BitwiseAnd', [shifted, this.constant('pemn.one', DataType.UINT8, [], Uint8Array.of(1))], 'pemn.mask_bits')
        : this.node('Mod', [shifted, this.constant('pemn.two', DataType.UINT8, [], Uint8Array.of(2))], 'pemn.mask_bits');
    const to: Attribute = { name: 'to', type: 'int', value: BigInt(DataType.FLOAT) };
    const floats = this.node('Cast', [low], 'pemn.mask_floats', [to]);
    return this.node('Reshape', [floats, this.ints([-1])], 'pemn.mask_vector');
  }

  private slice(x: Value, start: number, length: number, name: string): Value {
    return this.node('Slice', [x, this.ints([start]), this.ints([start + length])], name);
  }

  private node(opType: string, inputs: Value[], output: string, attributes: Attribute[] = []): Value {
    const out = this.graph.newValue(output);
    const node = this.graph.addNode(opType, inputs, [out], this.at++);
    for (const a of attributes) node.attributes.set(a.name, a);
    return out;
  }

  /** An int64 vector (slice bounds, dims, tiles), one initializer per distinct value: they are most of the file's names. */
  private ints(values: number[]): Value {
    const name = `pemn.${values.join('_')}`;
    const known = this.ints_.get(name);
    if (known) return known;
    const v = this.constant(name, DataType.INT64, [values.length], BigInt64Array.from(values, BigInt));
    this.ints_.set(name, v);
    return v;
  }

  private constant(name: string, dataType: DataType, dims: number[], data: NumericArray): Value {
    const v = this.graph.newValue(name);
    this.graph.addInitializer(v, makeTensor(v.name, dataType, dims, data));
    return v;
  }
}
