import protobuf from 'protobufjs';
import Long from 'long';
import { join } from 'node:path';
import { SCHEMA_DIR } from '../paths.js';

// protobufjs decodes int64 fields as Long only when it knows the Long class; without it,
// values beyond 2^53 (e.g. INT64_MAX slice ends) would silently lose precision.
protobuf.util.Long = Long;
protobuf.configure();

const root = new protobuf.Root().loadSync(join(SCHEMA_DIR, 'onnx.proto'), { keepCase: true });

export const ModelProto = root.lookupType('onnx.ModelProto');
export const TensorProto = root.lookupType('onnx.TensorProto');
export const GraphProto = root.lookupType('onnx.GraphProto');

export type Int64 = Long | number;

export function int64ToBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
}

export function uint64ToBigInt(v: Int64): bigint {
  return BigInt.asUintN(64, int64ToBigInt(v));
}

export function int64ToNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function bigIntToLong(v: bigint, unsigned = false): Long {
  const u = BigInt.asUintN(64, v);
  return Long.fromBits(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, unsigned);
}
