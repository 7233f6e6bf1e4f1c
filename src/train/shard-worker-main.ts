/** The worker thread of shard-worker.ts: computes shards' gradients on its own backend and network. */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeModel } from '../onnx/read.js';
import { initBackend } from '../tfjs/backend.js';
import { nativeKernels } from '../tfjs/kernels/native-addon.js';
import { Network, loadNetworkRun } from './network.js';
import type { ShardReply, ShardRequest, WorkerInit } from './shard-worker.js';
import { concatenate, split } from './flat-arrays.js';
import { readBuffers, writeBuffers } from './shards.js';

const init = workerData as WorkerInit;
const port = parentPort!;
await initBackend(init.backend);
nativeKernels()?.onednn?.setThreads(init.kernelThreads);
const network = Network.build(decodeModel(init.model, { ownsBytes: true }), await loadNetworkRun(init.run), init.params);
const { mirror, step, params } = network;
const bufferLengths = [...mirror.buffers.values()].map((v) => v.size);

port.on('message', (request: ShardRequest) => {
  let reply: ShardReply;
  try {
    split(request.params, params.map((p) => p.data.length)).forEach((data, i) => params[i].data.set(data));
    step.upload();
    writeBuffers(mirror, split(request.buffers, bufferLengths));
    const g = step.gradients(request.shard, request.dropoutSeed);
    reply = { count: request.shard.count, loss: g.loss, metrics: g.metrics, grads: concatenate(g.grads), buffers: concatenate(readBuffers(mirror)) };
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies ShardReply);
    return;
  }
  port.postMessage(reply, [reply.grads.buffer, reply.buffers.buffer]);
});
port.postMessage('ready');
