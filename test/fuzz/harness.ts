/**
 * The fuzzer: cases of a seeded run go to worker threads, each with a time limit; a worker
 * that runs past it is terminated (a hang) and replaced, as is one that dies (out of memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Stage } from './stages.js';
import type { WorkerInit, WorkerMessage } from './worker.js';

export interface FuzzOptions {
  seed: number;
  /** Cases 0..cases-1 of the seed's run. */
  cases: number;
  models: { name: string; path: string }[];
  workers: number;
  /** A case that runs longer than this is a hang. */
  timeLimitMs: number;
  /** A worker holding more array-buffer memory than this after a case allocated absurdly. */
  memoryLimitMb?: number;
  onProgress?: (summary: FuzzSummary) => void;
}

export interface Failure {
  index: number;
  model: string;
  steps: string[];
  stage?: Stage;
  message: string;
  stack?: string;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  refused: number;
  accepted: number;
  internalErrors: Failure[];
  hangs: Failure[];
  /** Refusals per stage: where inputs were stopped. */
  refusedAt: Record<string, number>;
  /** Refusals per message (names and numbers blurred): what stopped them. */
  refusalKinds: Record<string, number>;
  slowest: { index: number; model: string; ms: number };
  seconds: number;
}

/** Started with tsx, so the worker runs the TypeScript sources (as vitest does). */
function startWorker(init: WorkerInit): Worker {
  const source = new URL('./worker.ts', import.meta.url).href;
  const script = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(script, { eval: true, workerData: init, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
}

export async function fuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const started = performance.now();
  const summary: FuzzSummary = {
    seed: options.seed,
    cases: 0,
    refused: 0,
    accepted: 0,
    internalErrors: [],
    hangs: [],
    refusedAt: {},
    refusalKinds: {},
    slowest: { index: -1, model: '', ms: 0 },
    seconds: 0,
  };
  let next = 0;
  const lanes = Array.from({ length: Math.min(options.workers, options.cases) }, () => runLane());
  await Promise.all(lanes);
  summary.seconds = (performance.now() - started) / 1000;
  return summary;

  function finish(): void {
    summary.cases++;
    if (summary.cases % 250 === 0) options.onProgress?.(summary);
  }

  /** One worker at a time, taking cases until none are left; replaced after a hang or a crash. */
  async function runLane(): Promise<void> {
    while (next < options.cases) {
      const dir = mkdtempSync(join(tmpdir(), 'otoc-fuzz-'));
      try {
        await runWorker(startWorker({ seed: options.seed, models: options.models, dir }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  /** Feed `worker` cases until they run out (resolves) or it hangs or dies (resolves after terminating it). */
  function runWorker(worker: Worker): Promise<void> {
    return new Promise((resolve) => {
      let current: { index: number; model: string; steps: string[] } | undefined;
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        void worker.terminate().then(() => resolve());
      };
      const lose = (list: Failure[], message: string, stack?: string) => {
        const index = current?.index ?? -1;
        list.push({ index, model: current?.model ?? '?', steps: current?.steps ?? [], message, ...(stack ? { stack } : {}) });
        finish();
        end();
      };
      const feed = () => {
        if (next >= options.cases) return end();
        const index = next++;
        current = { index, model: '?', steps: [] };
        timer = setTimeout(() => lose(summary.hangs, `ran past ${options.timeLimitMs} ms`), options.timeLimitMs);
        worker.postMessage({ index });
      };
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') return feed();
        if (m.type === 'start') {
          current = { index: m.index, model: m.model, steps: m.steps };
          return;
        }
        clearTimeout(timer);
        const failure = { index: m.index, model: current!.model, steps: current!.steps };
        if (m.ms > summary.slowest.ms) summary.slowest = { index: m.index, model: failure.model, ms: Math.round(m.ms) };
        const o = m.outcome;
        const limit = options.memoryLimitMb ?? Infinity;
        if (o.kind === 'internal') {
          summary.internalErrors.push({ ...failure, stage: o.stage, message: o.message, ...(o.stack ? { stack: o.stack } : {}) });
        } else if (m.arrayBuffersMb > limit) {
          summary.internalErrors.push({ ...failure, message: `held ${Math.round(m.arrayBuffersMb)} MB of array buffers` });
        } else if (o.kind === 'refused') {
          summary.refused++;
          summary.refusedAt[o.stage] = (summary.refusedAt[o.stage] ?? 0) + 1;
          const kind = blur(o.message);
          summary.refusalKinds[kind] = (summary.refusalKinds[kind] ?? 0) + 1;
        } else summary.accepted++;
        finish();
        feed();
      });
      worker.on('error', (e) => lose(summary.internalErrors, `the worker died: ${e.message}`, e.stack));
      worker.on('exit', () => {
        if (!ended && current) lose(summary.internalErrors, 'the worker exited');
        else end();
      });
    });
  }
}

/** Internal errors and hangs grouped by their message (numbers blurred), most frequent first, with one example each. */
export function failureKinds(failures: Failure[]): { message: string; count: number; example: Failure }[] {
  const groups = new Map<string, { message: string; count: number; example: Failure }>();
  for (const f of failures) {
    const key = `${f.stage ?? ''}: ${blur(f.message)}`;
    const g = groups.get(key) ?? { message: key, count: 0, example: f };
    g.count++;
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** A message with names, numbers and lists blurred, so that messages of one kind compare equal. */
function blur(message: string): string {
  return message
    .replace(/'[^']*'/g, "'…'")
    .replace(/\[[^\]]*\]/g, '[…]')
    .replace(/\d+/g, 'N')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 200);
}
