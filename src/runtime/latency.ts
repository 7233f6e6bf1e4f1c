import type ort from 'onnxruntime-node';
import type { Feeds } from './ort.js';
import { runSession } from './ort.js';
import { median } from '../util/stats.js';

export interface Latency {
  medianMs: number;
  runs: number;
}

/** Median wall time of `runs` inferences on the same feeds, after `warmup` untimed ones. */
export async function measureLatency(session: ort.InferenceSession, feeds: Feeds, runs = 50, warmup = 5): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await runSession(session, feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runSession(session, feeds);
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), runs };
}
