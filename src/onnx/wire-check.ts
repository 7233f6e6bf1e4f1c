import protobuf from 'protobufjs';
import { OtocError } from '../errors.js';
import { MAX_NESTING_DEPTH } from '../limits.js';

/** Wire types (protobuf encoding): varint, 64-bit, length-delimited, 32-bit. Groups (3, 4) are not used by ONNX. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const SCALAR_WIRE_TYPES: Record<string, number> = {
  int32: VARINT,
  int64: VARINT,
  uint32: VARINT,
  uint64: VARINT,
  sint32: VARINT,
  sint64: VARINT,
  bool: VARINT,
  double: FIXED64,
  fixed64: FIXED64,
  sfixed64: FIXED64,
  float: FIXED32,
  fixed32: FIXED32,
  sfixed32: FIXED32,
  string: LENGTH_DELIMITED,
  bytes: LENGTH_DELIMITED,
};

/**
 * Check that `bytes` is well-formed protobuf of message type `type` before anything decodes
 * it, and refuse it (an OtocError) otherwise: a varint or a length that runs past the end of
 * its message, an invalid wire type, a field with the wrong wire type for its declared type,
 * messages nested deeper than MAX_NESTING_DEPTH, or a field the schema does not declare.
 * protobufjs skips unknown fields silently on decode; otoc refuses the file instead, so
 * nothing is ever dropped on a round trip.
 */
export function checkWireFormat(bytes: Uint8Array, type: protobuf.Type): void {
  checkMessage(bytes, 0, bytes.length, type, type.name, 1);
}

function checkMessage(bytes: Uint8Array, from: number, to: number, type: protobuf.Type, path: string, depth: number): void {
  if (depth > MAX_NESTING_DEPTH) {
    throw new OtocError(`messages are nested more than ${MAX_NESTING_DEPTH} deep (at ${path}); otoc refuses such files`);
  }
  let pos = from;
  while (pos < to) {
    const tagAt = pos;
    const tag = readVarint(bytes, pos, to, path);
    pos = tag.end;
    const id = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    const field = type.fieldsById[id];
    if (!field) {
      throw new OtocError(
        `unknown protobuf field (${path}: field #${id}): written by a newer ONNX than otoc's schema (IR 11)? otoc refuses rather than drop it`,
      );
    }
    const where = `${path}.${field.name}`;
    const expected = expectedWireType(field);
    const packed = wire === LENGTH_DELIMITED && field.repeated && expected !== LENGTH_DELIMITED;
    if (wire !== expected && !packed) {
      throw corrupt(`field ${where} at byte ${tagAt} has wire type ${wire}, but its type ${field.type} is written with wire type ${expected}`);
    }
    if (wire === VARINT) pos = readVarint(bytes, pos, to, where).end;
    else if (wire === FIXED64 || wire === FIXED32) pos = fixedEnd(pos, wire === FIXED64 ? 8 : 4, to, where);
    else {
      const length = readVarint(bytes, pos, to, where);
      const end = length.end + Number(length.value);
      if (length.value > BigInt(to - length.end)) {
        throw corrupt(`field ${where} at byte ${tagAt} claims ${length.value} bytes, but only ${to - length.end} are left`);
      }
      if (packed) checkPacked(bytes, length.end, end, expected, where);
      else if (field.resolvedType instanceof protobuf.Type) checkMessage(bytes, length.end, end, field.resolvedType, where, depth + 1);
      pos = end;
    }
  }
}

function expectedWireType(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return LENGTH_DELIMITED;
  if (field.resolvedType instanceof protobuf.Enum) return VARINT;
  return SCALAR_WIRE_TYPES[field.type];
}

/** A packed repeated scalar: whole varints or fixed-size values, ending exactly at `to`. */
function checkPacked(bytes: Uint8Array, from: number, to: number, wire: number, where: string): void {
  if (wire !== VARINT) {
    const size = wire === FIXED64 ? 8 : 4;
    if ((to - from) % size !== 0) throw corrupt(`packed field ${where} holds ${to - from} bytes, not a multiple of ${size}`);
    return;
  }
  for (let pos = from; pos < to; ) pos = readVarint(bytes, pos, to, where).end;
}

function fixedEnd(pos: number, size: number, to: number, where: string): number {
  if (pos + size > to) throw corrupt(`field ${where} at byte ${pos} needs ${size} bytes, but only ${to - pos} are left`);
  return pos + size;
}

/** A varint of at most 10 bytes that ends before `to`. */
function readVarint(bytes: Uint8Array, pos: number, to: number, where: string): { value: bigint; end: number } {
  const start = pos;
  let value = 0n;
  for (let shift = 0n; pos < to && pos - start < 10; shift += 7n) {
    const b = bytes[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return { value: BigInt.asUintN(64, value), end: pos };
  }
  throw corrupt(pos - start >= 10 ? `a varint in ${where} at byte ${start} is longer than 10 bytes` : `a varint in ${where} at byte ${start} runs past the end of its message`);
}

function corrupt(detail: string): OtocError {
  return new OtocError(`file is truncated or corrupt: ${detail}`);
}
