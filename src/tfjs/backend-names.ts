// Apart from backend.ts, so that the command-line options name the backends without loading tfjs.

/**
 * The tfjs backends otoc trains on, fastest first. `tensorflow` is @tensorflow/tfjs-node, an
 * optional dependency. Under Node the wasm backend runs on one thread: its threaded build needs
 * Web Workers, which Node lacks.
 */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
