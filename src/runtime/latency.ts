import type ort from 'onnxruntime-node';
import type { Feeds } from './ort.js';
import { runSession } from './ort.js';
import { median } from '../util/stats.js';

export interface Latency {
  medianMs: number;
  runs: number;
}

/**
 * Median wall time of `runs` inferences of each session on the same feeds, after `warmup`
 * untimed ones. The sessions take turns run by run, so that a change in the machine's load (it is
 * shared) reaches all of them alike and their ratio holds.
 */
export async function measureLatencies(sessions: readonly ort.InferenceSession[], feeds: Feeds, runs = 50, warmup = 5): Promise<Latency[]> {
  for (let i = 0; i < warmup; i++) for (const session of sessions) await runSession(session, feeds);
  const times = sessions.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, session] of sessions.entries()) {
      const t0 = performance.now();
      await runSession(session, feeds);
      times[k].push(performance.now() - t0);
    }
  }
  return times.map((t) => ({ medianMs: median(t), runs }));
}
