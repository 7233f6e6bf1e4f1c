/**
 * `--shape name=1x3x640x640`: the sizes a command assumes for a graph input whose declared shape
 * has symbolic dims (a dynamic batch, height or width). Counting (MACs, reported shapes) and
 * running (random inputs) follow them; symbolic dims without a given size count as 1.
 */
import { OtocError } from '../errors.js';
import type { Model, Value } from './graph.js';
import { dimsToShape, formatShape, type Shape } from './types.js';

/** Sizes by graph input name. */
export type ShapeOverrides = ReadonlyMap<string, number[]>;

export const NO_OVERRIDES: ShapeOverrides = new Map();

/** Parse `--shape` values of the form `name=1x3x32x32` (a scalar is `name=`). */
export function parseShapeOverrides(specs: readonly string[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const spec of specs) {
    const match = /^(.+)=((?:\d+(?:x\d+)*)?)$/.exec(spec);
    if (!match) throw new OtocError(`--shape expects name=DIMxDIMx..., e.g. input=1x3x32x32; got '${spec}'`);
    const [, name, dims] = match;
    if (shapes.has(name)) throw new OtocError(`--shape gives input '${name}' twice`);
    shapes.set(name, dims ? dims.split('x').map(Number) : []);
  }
  return shapes;
}

/** The graph inputs a caller feeds (an initializer that is also an input is a weight with a default). */
function fedInputs(model: Model): Value[] {
  return model.graph.inputs.filter((v) => !v.isConstant);
}

function declaredShape(v: Value): Shape | undefined {
  return v.type?.kind === 'tensor' && v.type.shape ? dimsToShape(v.type.shape) : undefined;
}

/**
 * The shape to assume for input `name`: its override, which must fit the declared shape (same
 * rank, the same size wherever one is declared), or the declared shape; undefined when neither
 * is known.
 */
export function assumedShape(name: string, declared: Shape | undefined, overrides: ShapeOverrides): Shape | undefined {
  const given = overrides.get(name);
  if (!given) return declared;
  if (declared && (declared.length !== given.length || declared.some((d, i) => typeof d === 'number' && d !== given[i]))) {
    throw new OtocError(`--shape ${name}=${given.join('x')} does not fit the declared shape ${formatShape(declared)}`);
  }
  return given;
}

/** Refuses overrides that name no fed input of `model` or do not fit its declared shape. */
export function checkShapeOverrides(model: Model, overrides: ShapeOverrides): void {
  const inputs = fedInputs(model);
  for (const name of overrides.keys()) {
    const input = inputs.find((v) => v.name === name);
    if (!input) throw new OtocError(`--shape names '${name}', which is not a model input (inputs: ${inputs.map((v) => v.name).join(', ')})`);
    assumedShape(name, declaredShape(input), overrides);
  }
}

/** A fed input whose assumed shape still holds symbolic or unknown dims. */
export interface SymbolicInput {
  input: string;
  shape: Shape;
}

/** The fed inputs whose assumed shapes (after `overrides`) still hold a symbolic or unknown dim. */
export function symbolicInputs(model: Model, overrides: ShapeOverrides): SymbolicInput[] {
  return fedInputs(model).flatMap((v) => {
    const shape = assumedShape(v.name, declaredShape(v), overrides);
    return shape?.some((d) => typeof d !== 'number') ? [{ input: v.name, shape }] : [];
  });
}

/** The one line that says which dims stayed symbolic and were taken as 1; undefined when none did. */
export function symbolicNote(inputs: readonly SymbolicInput[]): string | undefined {
  if (inputs.length === 0) return undefined;
  const each = inputs.map(({ input, shape }) => `'${input}' ${formatShape(shape)}`).join(', ');
  const example = inputs.map(({ input, shape }) => `--shape ${input}=${shape.map((d) => (typeof d === 'number' ? d : `<${d ?? '?'}>`)).join('x')}`).join(' ');
  return `note: symbolic dims taken as 1 in ${each}; give their sizes with ${example}`;
}
