/** The worker thread of shard-worker.ts: computes shards' gradients on its own backend and mirror. */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeModel } from '../onnx/read.js';
import { buildMirror } from '../mirror/mirror.js';
import { initBackend } from '../tfjs/backend.js';
import type { ShardReply, ShardRequest, WorkerInit } from './shard-worker.js';
import { concatenate, readBuffers, split, writeBuffers } from './shards.js';
import { TrainingStep, masterCopies } from './step.js';

const init = workerData as WorkerInit;
const port = parentPort!;
await initBackend(init.backend);
const mirror = buildMirror(decodeModel(init.model));
const byName = new Map([...mirror.params].map(([value, variable]) => [value.name, [value, variable] as const]));
const variables = new Map(init.params.map((name) => byName.get(name)!));
const params = masterCopies(variables);
const step = new TrainingStep(mirror, init.io, variables, params, { lossTerms: [] });
const bufferLengths = [...mirror.buffers.values()].map((v) => v.size);

port.on('message', (request: ShardRequest) => {
  let reply: ShardReply;
  try {
    split(request.params, params.map((p) => p.data.length)).forEach((data, i) => params[i].data.set(data));
    step.upload();
    writeBuffers(mirror, split(request.buffers, bufferLengths));
    const g = step.gradients(request.shard, request.dropoutSeed);
    reply = { images: request.shard.labels.length, loss: g.loss, correct: g.correct, grads: concatenate(g.grads), buffers: concatenate(readBuffers(mirror)) };
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies ShardReply);
    return;
  }
  port.postMessage(reply, [reply.grads.buffer, reply.buffers.buffer]);
});
port.postMessage('ready');
