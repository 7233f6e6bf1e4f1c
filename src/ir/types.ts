/** A key/value pair as ONNX stores metadata (StringStringEntryProto). */
export interface KeyValue {
  key: string;
  value: string;
}

/** One dimension of a tensor type: a number, a symbolic name, or unknown (neither). */
export interface Dim {
  value?: number;
  param?: string;
  denotation?: string;
}

/** The type of a value (ONNX TypeProto), in all its kinds. */
export type TypeInfo = { denotation?: string } & (
  | { kind: 'tensor'; elemType: number; shape?: Dim[] }
  | { kind: 'sparse_tensor'; elemType: number; shape?: Dim[] }
  | { kind: 'sequence'; elem?: TypeInfo }
  | { kind: 'map'; keyType: number; value?: TypeInfo }
  | { kind: 'optional'; elem?: TypeInfo }
  | { kind: 'none' }
);

/** Static shape: numbers for known dims, strings for symbolic ones, null for unknown ones. */
export type Shape = (number | string | null)[];

/** A declared dim_value below 0 means nothing (onnxruntime runs such a model as if the dim were unknown). */
export function dimsToShape(dims: Dim[]): Shape {
  return dims.map((d) => (d.value !== undefined && d.value >= 0 ? d.value : (d.param ?? null)));
}

export function shapeToDims(shape: Shape): Dim[] {
  return shape.map((d) => (typeof d === 'number' ? { value: d } : typeof d === 'string' ? { param: d } : {}));
}

export function tensorType(elemType: number, shape?: Shape): TypeInfo {
  return { kind: 'tensor', elemType, shape: shape && shapeToDims(shape) };
}

export function formatShape(shape: Shape | undefined): string {
  if (!shape) return '?';
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}
