/**
 * The fuzzer in `make test` (issue 26): a fixed-seed run of 2,000 mutated corpus models through
 * the CLI's stages (inspect, groups, prune with random zeroing, the written model read back),
 * each within a time limit. Every input must be accepted or refused cleanly: no internal
 * error, no hang. The long run is `npx tsx test/fuzz/run.ts --cases 50000` (README).
 */
import { describe, expect, it } from 'vitest';
import { failureKinds, fuzz } from './fuzz/harness.js';
import { FUZZ_MODELS } from './fuzz/models.js';

const CASES = 2000;

describe('fuzzing the CLI stages with mutated corpus models', () => {
  it(`${CASES} cases of seed 1: no internal error, no hang`, { timeout: 600_000 }, async () => {
    const summary = await fuzz({ seed: 1, cases: CASES, models: FUZZ_MODELS, workers: 1, timeLimitMs: 20_000, memoryLimitMb: 1024 });
    const failures = failureKinds([...summary.internalErrors, ...summary.hangs]).map(
      (k) => `${k.count} × ${k.message} (e.g. case ${k.example.index}: ${k.example.model}, ${k.example.steps.join('; ')})`,
    );
    console.log(
      `fuzz seed 1: ${summary.cases} cases in ${summary.seconds.toFixed(0)} s: ${summary.refused} refused, ` +
        `${summary.accepted} accepted, ${summary.internalErrors.length} internal errors, ${summary.hangs.length} hangs`,
    );
    expect(failures).toEqual([]);
    expect(summary.cases).toBe(CASES);
    // The mutations must leave enough models whole for the later stages to be exercised.
    expect(summary.accepted).toBeGreaterThan(CASES / 10);
  });
});
