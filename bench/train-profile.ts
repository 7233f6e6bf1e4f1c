/**
 * `OTOC_BENCH_PROFILE=1`: train-speed's profile of one step (bench/kernel-profile.ts): each
 * kernel, the copies between JS and the backend, the optimizer, the upload of the weights, and
 * the tfjs glue (the rest of the forward and backward pass: the tape, the engine's bookkeeping).
 * One process, the whole batch on this thread; the same nets, batch and steps as train-speed.
 */
import type { StepPhases } from '../src/train/observer.js';
import type { ReportRow } from './harness.js';
import { KernelProfile, type ProfileEntry } from './kernel-profile.js';

export interface StepProfile {
  /** Mean milliseconds per step. */
  stepMs: number;
  phasesMs: StepPhases;
  /** Of the gradients and upload phases, what no kernel or copy took. */
  glueMs: number;
  /** Per kernel or copy, milliseconds and calls per step, largest first. */
  parts: { name: string; ms: number; calls: number }[];
}

/** Rows shorter than this share of the step are summed into one row. */
const SMALL = 0.01;

/**
 * Profiles the steps of `fit` after `warmup` of them: `fit` trains and calls back after every
 * step with its phases (seconds).
 */
export async function profileSteps(warmup: number, fit: (onStep: (stepInEpoch: number, phases: StepPhases) => void) => Promise<void>): Promise<StepProfile> {
  const profile = KernelProfile.start();
  const phases: StepPhases[] = [];
  try {
    await fit((stepInEpoch, p) => {
      if (stepInEpoch === warmup) profile.clear();
      if (stepInEpoch > warmup) phases.push(p);
    });
  } finally {
    profile.stop();
  }
  const steps = phases.length;
  const meanMs = (key: keyof StepPhases) => (1000 * phases.reduce((a, p) => a + p[key], 0)) / steps;
  const phasesMs: StepPhases = { gradients: meanMs('gradients'), optimizer: meanMs('optimizer'), upload: meanMs('upload') };
  const parts = [...profile.entries].map(([name, e]: [string, ProfileEntry]) => ({ name, ms: e.ms / steps, calls: e.calls / steps }));
  parts.sort((a, b) => b.ms - a.ms);
  // Kernels and copies run in the gradients and upload phases; the optimizer is plain JS.
  const tfjsMs = phasesMs.gradients + phasesMs.upload;
  return { stepMs: tfjsMs + phasesMs.optimizer, phasesMs, glueMs: tfjsMs - parts.reduce((a, p) => a + p.ms, 0), parts };
}

/** The profile as report rows: each part with its share of the step. */
export function profileRows(title: string, p: StepProfile): ReportRow[] {
  const share = (ms: number) => `${ms.toFixed(2)} ms (${((100 * ms) / p.stepMs).toFixed(1)}%)`;
  const rows: ReportRow[] = [{ metric: `${title}: step`, value: `${p.stepMs.toFixed(1)} ms` }];
  const small = p.parts.filter((part) => part.ms < SMALL * p.stepMs);
  for (const part of p.parts.filter((part) => !small.includes(part))) {
    rows.push({ metric: `  ${part.name} (${part.calls.toFixed(0)} calls)`, value: share(part.ms) });
  }
  rows.push({ metric: `  ${small.length} other kernels`, value: share(small.reduce((a, part) => a + part.ms, 0)) });
  rows.push({ metric: '  tfjs glue (tape, engine, outside kernels)', value: share(p.glueMs) });
  rows.push({ metric: '  optimizer (JS)', value: share(p.phasesMs.optimizer) });
  return rows;
}
