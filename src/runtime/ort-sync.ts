import ort from 'onnxruntime-node';
import { createRequire } from 'node:module';

/*
 * Synchronous onnxruntime sessions, for tfjs kernels (which must return their result before
 * they return). onnxruntime-node's public API is asynchronous only, but the native binding under
 * it runs synchronously (the public `run` defers a synchronous call with setImmediate), so this
 * module talks to that binding directly. Its shape is pinned by the lock file's onnxruntime-node.
 */

interface BindingOutput {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ort.Tensor.DataType;
}

interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, BindingOutput | ort.Tensor>;
  readonly outputMetadata: readonly { name: string }[];
  dispose(): void;
}

interface BindingModule {
  binding: { InferenceSession: new () => BindingSession };
  initOrt(): void;
}

let bindingModule: BindingModule | undefined;

function nativeBinding(): BindingModule {
  if (bindingModule === undefined) {
    bindingModule = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as BindingModule;
    bindingModule.initOrt();
  }
  return bindingModule;
}

/** A float32 result: its dims and values (owned by the caller). */
export interface SyncOutput {
  dims: readonly number[];
  data: Float32Array;
}

/** An onnxruntime session on one thread whose `run` returns its outputs synchronously. */
export class SyncSession {
  private readonly session: BindingSession;
  private readonly fetches: Record<string, null>;

  constructor(model: Uint8Array) {
    const { binding } = nativeBinding();
    this.session = new binding.InferenceSession();
    this.session.loadModel(model.buffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    });
    this.fetches = Object.fromEntries(this.session.outputMetadata.map((m) => [m.name, null]));
  }

  /** Runs on float32 inputs (read in place, not copied) and returns the float32 outputs by name. */
  run(inputs: Record<string, { dims: readonly number[]; data: Float32Array }>): Record<string, SyncOutput> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, { dims, data }] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', data, dims);
    const results = this.session.run(feeds, this.fetches, {});
    const outputs: Record<string, SyncOutput> = {};
    for (const [name, result] of Object.entries(results)) {
      if (result.type !== 'float32') throw new Error(`onnxruntime output '${name}' is ${result.type}, expected float32`);
      outputs[name] = { dims: result.dims, data: result.data as Float32Array };
    }
    return outputs;
  }

  dispose(): void {
    this.session.dispose();
  }
}
