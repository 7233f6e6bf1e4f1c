import protobuf from 'protobufjs';

/**
 * Walk the wire format of `bytes` as message type `type` and return the path of the first
 * field the schema does not declare, or null. protobufjs skips such fields silently on
 * decode; otoc refuses the file instead, so nothing is ever dropped on a round trip.
 */
export function findUnknownField(bytes: Uint8Array, type: protobuf.Type, path = type.name): string | null {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    const field = type.fieldsById[id];
    if (!field) return `${path}: field #${id}`;
    const sub = field.resolvedType;
    if (sub instanceof protobuf.Type && wireType === 2) {
      const len = reader.uint32();
      const found = findUnknownField(bytes.subarray(reader.pos, reader.pos + len), sub, `${path}.${field.name}`);
      if (found) return found;
      reader.skip(len);
    } else {
      reader.skipType(wireType);
    }
  }
  return null;
}
