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
import { GraphBuilder, type Attributes } from '../../ir/build.js';
import { DataType } from '../../ir/dtype.js';
import type { Graph, Model, Value } from '../../ir/graph.js';
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
  const materialized = model.clone().model;
  setLayerWeights(materialized, prototype, weights);

  const packed = model.clone().model;
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

/** Writes `weights[i]` into the initializer of the prototype's layer i. */
export function setLayerWeights(model: Model, prototype: Prototype, weights: readonly Float32Array[]): void {
  prototype.layers.forEach((layer, i) => {
    const value = model.graph.lookup(layer.name)!;
    model.graph.addInitializer(value, { ...value.constant!, data: weights[i] });
  });
}

/** The nodes and initializers that rebuild the masked weights (the graph is sorted again once they are in). */
class Rebuild {
  private readonly b: GraphBuilder;
  private readonly vectors = new Map<string, Value>();

  constructor(
    private readonly graph: Graph,
    private readonly opset: number,
  ) {
    this.b = new GraphBuilder(graph);
  }

  weights(prototype: Prototype, masks: readonly Uint8Array[]): void {
    const bits = this.unpackedMasks(masks);
    const stored = this.b.constant(DataType.FLOAT, [prototype.values.length], prototype.values, 'pemn.prototype');
    const tiles = Math.ceil(prototype.expandedLength / prototype.values.length);
    const expanded = tiles > 1 ? this.op('Tile', [stored, this.ints([tiles])], 'pemn.prototype_tiled') : stored;
    let bitOffset = 0;
    prototype.layers.forEach((layer, i) => {
      const mask = this.slice(bits, bitOffset, layer.size, `pemn.m${i}`);
      const values = this.slice(expanded, layer.offset, layer.size, `pemn.p${i}`);
      let weight = this.op('Mul', [mask, values], `pemn.w${i}`);
      if (layer.scale !== 1) weight = this.op('Mul', [weight, this.b.constant(DataType.FLOAT, [], Float32Array.of(layer.scale), `pemn.s${i}`)], `pemn.ws${i}`);
      const target = this.graph.lookup(layer.name)!;
      this.graph.initializers = this.graph.initializers.filter((v) => v !== target);
      this.graph.inputs = this.graph.inputs.filter((v) => v !== target);
      target.constant = undefined;
      this.graph.addNode('Reshape', [weight, this.ints(layer.dims)], [target]);
      bitOffset += layer.size;
    });
    this.graph.toposort();
  }

  /** Every layer's mask bits, concatenated and packed, as a float vector of 0s and 1s. */
  private unpackedMasks(masks: readonly Uint8Array[]): Value {
    const all = new Uint8Array(masks.reduce((a, m) => a + m.length, 0));
    masks.reduce((at, m) => (all.set(m, at), at + m.length), 0);
    const bytes = packBits(all);
    const packed = this.b.constant(DataType.UINT8, [bytes.length, 1], bytes, 'pemn.masks');
    const shifts = this.b.constant(DataType.UINT8, [8], Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7), 'pemn.bit_shifts');
    const shifted = this.op('BitShift', [packed, shifts], 'pemn.masks_shifted', { direction: 'RIGHT' });
    const low =
      this.opset >= BITWISE_AND_OPSET
        ? this.op('BitwiseAnd', [shifted, this.b.constant(DataType.UINT8, [], Uint8Array.of(1), 'pemn.one')], 'pemn.mask_bits')
        : this.op('Mod', [shifted, this.b.constant(DataType.UINT8, [], Uint8Array.of(2), 'pemn.two')], 'pemn.mask_bits');
    const floats = this.op('Cast', [low], 'pemn.mask_floats', { to: DataType.FLOAT });
    return this.op('Reshape', [floats, this.ints([-1])], 'pemn.mask_vector');
  }

  private slice(x: Value, start: number, length: number, name: string): Value {
    return this.op('Slice', [x, this.ints([start]), this.ints([start + length])], name);
  }

  private op(opType: string, inputs: Value[], output: string, attributes: Attributes = {}): Value {
    return this.b.node(opType, inputs, { attributes, outputs: [output] }).outputs[0]!;
  }

  /** An int64 vector (slice bounds, dims, tiles), one initializer per distinct value: they are most of the file's names. */
  private ints(values: number[]): Value {
    const name = `pemn.${values.join('_')}`;
    let v = this.vectors.get(name);
    if (!v) this.vectors.set(name, (v = this.b.int64s(values, name)));
    return v;
  }
}
