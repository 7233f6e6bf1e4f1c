/**
 * The protobuf wire format of a model, as spans the fuzzer can edit: every varint value,
 * every length prefix, every field, each with the length prefixes that enclose it, so an edit
 * can either leave those prefixes stale (a corrupt file) or rewrite them (a well-formed file
 * whose content is wrong).
 */
import protobuf from 'protobufjs';

export interface Span {
  start: number;
  end: number;
  /** Length-prefix spans of the messages that enclose this span, outermost first. */
  enclosing: LengthPrefix[];
}

/** The varint that gives a length-delimited field's length, and where its content ends. */
export interface LengthPrefix extends Span {
  contentEnd: number;
  /** The message type of the content, when the schema says it is a message. */
  type?: protobuf.Type;
}

export interface WireMap {
  varints: Span[];
  lengths: LengthPrefix[];
  /** Whole fields (tag to end of value). */
  fields: Span[];
}

/** Walk `bytes` as message `type`; spans the walk cannot parse (a corrupt input) end it quietly. */
export function mapWire(bytes: Uint8Array, type: protobuf.Type): WireMap {
  const map: WireMap = { varints: [], lengths: [], fields: [] };
  walk(bytes, 0, bytes.length, type, [], map);
  return map;
}

function walk(bytes: Uint8Array, from: number, to: number, type: protobuf.Type | undefined, enclosing: LengthPrefix[], map: WireMap): void {
  let pos = from;
  while (pos < to) {
    const tagStart = pos;
    const tag = readVarint(bytes, pos, to);
    if (!tag) return;
    pos = tag.end;
    const wire = Number(tag.value & 7n);
    const field = type?.fieldsById[Number(tag.value >> 3n)];
    if (wire === 0) {
      const v = readVarint(bytes, pos, to);
      if (!v) return;
      map.varints.push({ start: pos, end: v.end, enclosing });
      pos = v.end;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else if (wire === 2) {
      const len = readVarint(bytes, pos, to);
      if (!len || len.end + Number(len.value) > to) return;
      const contentEnd = len.end + Number(len.value);
      const sub = field?.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
      const prefix: LengthPrefix = { start: pos, end: len.end, contentEnd, enclosing, ...(sub ? { type: sub } : {}) };
      map.lengths.push(prefix);
      if (sub) walk(bytes, len.end, contentEnd, sub, [...enclosing, prefix], map);
      pos = contentEnd;
    } else return;
    if (pos > to) return;
    map.fields.push({ start: tagStart, end: pos, enclosing });
  }
}

function readVarint(bytes: Uint8Array, pos: number, to: number): { value: bigint; end: number } | undefined {
  let value = 0n;
  for (let shift = 0n; pos < to && shift < 70n; shift += 7n) {
    const b = bytes[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { value, end: pos };
  }
  return undefined;
}

export function encodeVarint(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? low | 0x80 : low);
  } while (v);
  return Uint8Array.from(out);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `bytes` with `span` replaced by `replacement`; with `fixLengths`, every enclosing length
 * prefix is rewritten to match, so the file stays well-formed protobuf.
 */
export function splice(bytes: Uint8Array, span: Span, replacement: Uint8Array, fixLengths: boolean): Uint8Array {
  if (!fixLengths || span.enclosing.length === 0) {
    return concat(bytes.subarray(0, span.start), replacement, bytes.subarray(span.end));
  }
  // Rebuild from the innermost enclosing message outwards.
  let start = span.start;
  let end = span.end;
  let middle = replacement;
  for (let i = span.enclosing.length - 1; i >= 0; i--) {
    const p = span.enclosing[i];
    const content = concat(bytes.subarray(p.end, start), middle, bytes.subarray(end, p.contentEnd));
    middle = concat(encodeVarint(BigInt(content.length)), content);
    start = p.start;
    end = p.contentEnd;
  }
  return concat(bytes.subarray(0, start), middle, bytes.subarray(end));
}
