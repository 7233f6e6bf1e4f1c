import { Worker } from 'node:worker_threads';
import { copySamples, sampleBuffers, type Batch } from '../data/samples.js';
import type { BackendName } from '../tfjs/backend-names.js';
import type { NetworkRef } from './network.js';
import { split } from './flat-arrays.js';
import type { ShardResult } from './shards.js';
import type { MetricSums } from './step.js';

/** What a worker builds its network from. */
export interface WorkerInit {
  /** The model, encoded (its weights are replaced by every request's). */
  model: Uint8Array;
  backend: BackendName;
  /** oneDNN threads of the worker's kernels (native-addon.ts, setKernelThreads). */
  kernelThreads: number;
  /** The method and the objectives, which the worker loads from their modules. */
  run: NetworkRef;
  /** Names of the initializers the trained variables drive, in the order of every request's and reply's arrays. */
  params: string[];
}

/** One shard of a step: the weights and BatchNorm statistics to start from, concatenated. */
export interface ShardRequest {
  params: Float32Array;
  buffers: Float32Array;
  shard: Batch;
  dropoutSeed: number;
}

/** A ShardResult with its arrays concatenated, or what went wrong. */
export type ShardReply =
  | { count: number; loss: number; metrics: MetricSums; grads: Float32Array<ArrayBuffer>; buffers: Float32Array<ArrayBuffer> }
  | { error: string };

/** Element counts of the parameters and of the buffers, to split a reply's arrays. */
export interface ArrayLengths {
  params: number[];
  buffers: number[];
}

/** The worker's script: compiled JavaScript from dist/, or under vitest or tsx the TypeScript source, loaded through tsx. */
function workerScript(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./shard-worker-main.js', import.meta.url), eval: false };
  const source = new URL('./shard-worker-main.ts', import.meta.url).href;
  return { script: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`, eval: true };
}

/** A worker thread with its own tfjs backend and mirror that computes shards' gradients, one request at a time. */
export class ShardWorker {
  private busy = false;

  private constructor(
    private readonly worker: Worker,
    private readonly lengths: ArrayLengths,
  ) {}

  static async start(init: WorkerInit, lengths: ArrayLengths): Promise<ShardWorker> {
    const { script, eval: isCode } = workerScript();
    const worker = new Worker(script, { workerData: init, eval: isCode });
    await nextReply(worker);
    return new ShardWorker(worker, lengths);
  }

  async compute(request: ShardRequest): Promise<ShardResult> {
    if (this.busy) throw new Error('a training worker takes one shard at a time');
    this.busy = true;
    try {
      // A shard's arrays are views of the batch's: copy them, or the whole batch would be cloned.
      const shard = copySamples(request.shard);
      this.worker.postMessage({ ...request, shard }, sampleBuffers(shard));
      const reply = (await nextReply(this.worker)) as Extract<ShardReply, { grads: Float32Array }>;
      return { ...reply, grads: split(reply.grads, this.lengths.params), buffers: split(reply.buffers, this.lengths.buffers) };
    } finally {
      this.busy = false;
    }
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The worker's next message; an error it reports or throws rejects. */
function nextReply(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ShardReply | 'ready') => {
      worker.off('error', onError);
      if (typeof message === 'object' && 'error' in message) reject(new Error(`training worker: ${message.error}`));
      else resolve(message);
    };
    const onError = (e: Error) => {
      worker.off('message', onMessage);
      reject(e);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}
