import { OtocError } from '../errors.js';
import type { Attribute, Node } from './graph.js';
import type { Tensor } from './tensor.js';

type AttributeOf<T extends Attribute['type']> = Extract<Attribute, { type: T }>;

/** The attribute `name` of `node` when it has type `type`; a present attribute of another type is a malformed model. */
function typed<T extends Attribute['type']>(node: Node, name: string, type: T): AttributeOf<T> | undefined {
  const attr = node.attributes.get(name);
  if (attr === undefined) return undefined;
  if (attr.type !== type) {
    throw new OtocError(`node ${node.label()}: attribute '${name}' should be of type ${type}, found ${attr.type}`);
  }
  return attr as AttributeOf<T>;
}

export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const attr = typed(node, name, 'int');
  return attr ? Number(attr.value) : fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined;
export function attrInts(node: Node, name: string, fallback: number[]): number[];
export function attrInts(node: Node, name: string, fallback?: number[]): number[] | undefined {
  const attr = typed(node, name, 'ints');
  return attr ? attr.value.map(Number) : fallback;
}

/** An int attribute's exact int64 value (attrInt rounds beyond 2^53), for values that must survive a round trip. */
export function attrInt64(node: Node, name: string): bigint | undefined {
  return typed(node, name, 'int')?.value;
}

/** An ints attribute's exact int64 values. */
export function attrInt64s(node: Node, name: string): bigint[] | undefined {
  return typed(node, name, 'ints')?.value;
}

export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  return typed(node, name, 'float')?.value ?? fallback;
}

export function attrFloats(node: Node, name: string): number[] | undefined {
  return typed(node, name, 'floats')?.value;
}

/** A string attribute decoded as UTF-8. */
export function attrString(node: Node, name: string): string | undefined;
export function attrString(node: Node, name: string, fallback: string): string;
export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  const attr = typed(node, name, 'string');
  return attr ? Buffer.from(attr.value).toString('utf8') : fallback;
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  return typed(node, name, 'tensor')?.value;
}

/** A strings attribute, each decoded as UTF-8. */
export function attrStrings(node: Node, name: string): string[] | undefined {
  return typed(node, name, 'strings')?.value.map((s) => Buffer.from(s).toString('utf8'));
}
