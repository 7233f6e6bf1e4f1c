import type protobuf from 'protobufjs';

/**
 * protobufjs's Writer holds the encoding as a linked list of operations that `finish()` runs
 * into one new buffer. These are the fields of that (untyped) list that we read.
 */
interface WriterOp {
  fn: (val: unknown, buf: Uint8Array, pos: number) => void;
  len: number;
  val: unknown;
  next: WriterOp | null;
}

/** Byte strings at least this long become chunks of their own. */
const OWN_CHUNK_BYTES = 64 * 1024;

/**
 * What `writer.finish()` returns, as a list of chunks: big byte strings (tensor data) are
 * passed through as they are instead of being copied into one buffer, so that writing a
 * model to a file never holds a second copy of its weights.
 */
export function finishInChunks(writer: protobuf.Writer): Uint8Array[] {
  const alloc = (writer.constructor as unknown as { alloc(size: number): Uint8Array }).alloc;
  const chunks: Uint8Array[] = [];
  let pending: WriterOp[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    const buf = alloc(pendingBytes);
    let pos = 0;
    for (const op of pending) {
      op.fn(op.val, buf, pos);
      pos += op.len;
    }
    chunks.push(buf);
    pending = [];
    pendingBytes = 0;
  };
  for (let op = (writer as unknown as { head: WriterOp }).head.next; op; op = op.next) {
    if (op.len >= OWN_CHUNK_BYTES && op.val instanceof Uint8Array && op.val.byteLength === op.len) {
      flush();
      chunks.push(op.val);
    } else {
      pending.push(op);
      pendingBytes += op.len;
    }
  }
  flush();
  return chunks;
}
