import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SyncSession } from '../../runtime/ort-sync.js';
import { heapFloats } from './kernel-inputs.js';

/*
 * Running a wasm kernel on onnxruntime: one session per graph (least recently used dropped past
 * a bound), inputs read in place in the wasm heap, the output copied into a new wasm tensor.
 */

const sessions = new Map<string, SyncSession>();
const MAX_SESSIONS = 64;

/** The session of the graph that `key` names, built by `graph` the first time. */
function sessionFor(key: string, graph: () => Uint8Array): SyncSession {
  let session = sessions.get(key);
  if (session) {
    sessions.delete(key);
  } else {
    session = new SyncSession(graph());
    if (sessions.size >= MAX_SESSIONS) {
      const [oldestKey, oldest] = sessions.entries().next().value as [string, SyncSession];
      oldest.dispose();
      sessions.delete(oldestKey);
    }
  }
  sessions.set(key, session);
  return session;
}

/**
 * Runs the graph named `key` (built by `graph` if new) on float32 wasm tensors fed by name, and
 * returns its output `y` as a new wasm tensor of `outShape`.
 */
export function runNative(
  backend: BackendWasm,
  key: string,
  graph: () => Uint8Array,
  inputs: Record<string, tf.TensorInfo>,
  outShape: number[],
): tf.TensorInfo {
  const session = sessionFor(key, graph);
  const feeds = Object.fromEntries(
    Object.entries(inputs).map(([name, t]) => [name, { dims: t.shape, data: heapFloats(backend, t) }]),
  );
  const { y } = session.run(feeds);
  // The output is allocated after the run: allocating can grow the heap, which detaches the input views.
  const out = backend.makeOutput(outShape, 'float32');
  heapFloats(backend, out).set(y.data);
  return out;
}
