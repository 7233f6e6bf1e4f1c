/** A fuzz worker thread: builds the cases it is sent and runs them through the CLI's stages. */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzCase, readCorpus } from './cases.js';
import { runStages } from './stages.js';

export interface WorkerInit {
  seed: number;
  models: { name: string; path: string }[];
  /** A folder of its own for the files the stages read and write. */
  dir: string;
}

/** To the worker: run case `index`. From it: the case is starting (its steps), then its outcome. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'start'; index: number; model: string; steps: string[] }
  | { type: 'done'; index: number; outcome: import('./stages.js').Outcome; ms: number; arrayBuffersMb: number };

const init = workerData as WorkerInit;
const corpus = readCorpus(init.models);
const dir = init.dir;
// The handlers print their reports; the fuzzer wants only the outcome.
console.log = () => {};
const port = parentPort!;
port.on('message', ({ index }: { index: number }) => {
  const c = fuzzCase(corpus, init.seed, index);
  port.postMessage({ type: 'start', index, model: c.model, steps: c.steps } satisfies WorkerMessage);
  const start = performance.now();
  const outcome = runStages(c.bytes, dir, c.randomZero, c.pruneSeed);
  const ms = performance.now() - start;
  const arrayBuffersMb = process.memoryUsage().arrayBuffers / 2 ** 20;
  port.postMessage({ type: 'done', index, outcome, ms, arrayBuffersMb } satisfies WorkerMessage);
});
port.postMessage({ type: 'ready' } satisfies WorkerMessage);
