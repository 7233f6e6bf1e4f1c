import { describe, expect, it } from 'vitest';
import { ProgressDisplay } from '../src/cli/progress.js';
import { duration } from '../src/util/format.js';
import type { StepReport } from '../src/train/observer.js';

function stepReport(step: number, stepsPerEpoch = 100): StepReport {
  const epoch = Math.ceil(step / stepsPerEpoch);
  return {
    epoch,
    step,
    stepInEpoch: step - (epoch - 1) * stepsPerEpoch,
    stepsPerEpoch,
    lr: 0.1,
    loss: 1,
    accuracy: 0.5,
    images: 64,
    seconds: 0.1,
    phases: { gradients: 0.09, optimizer: 0.005, upload: 0.005 },
    epochLoss: 1.25,
    epochAccuracy: 0.5,
    imagesPerSecond: 640,
    extra: {},
  };
}

function sink(isTTY: boolean) {
  const written: string[] = [];
  return { written, isTTY, columns: 100, write: (text: string) => written.push(text) };
}

describe('training progress', () => {
  it('prints a plain line per tenth of an epoch without a terminal', () => {
    const out = sink(false);
    const progress = new ProgressDisplay(out, 2, () => 0);
    for (let step = 1; step <= 100; step++) progress.onStep(stepReport(step));
    expect(out.written).toHaveLength(10);
    expect(out.written[0]).toBe('epoch 1/2 step 10/100  loss 1.250 acc 50.0% 640 img/s ETA 0:19\n');
  });

  it('redraws a bar in place on a terminal, at most every 100 ms, and clears it for other output', () => {
    const out = sink(true);
    let now = 1000;
    const progress = new ProgressDisplay(out, 1, () => now);
    progress.onStep(stepReport(1));
    progress.onStep(stepReport(2));
    now += 100;
    progress.onStep(stepReport(50));
    expect(out.written).toHaveLength(2);
    expect(out.written[1]).toBe('\r\x1b[Kepoch 1/1 [########--------] 50/100 loss 1.250 acc 50.0% 640 img/s ETA 0:05');
    progress.clear();
    expect(out.written.at(-1)).toBe('\r\x1b[K');
  });

  it('writes durations as m:ss or h:mm:ss', () => {
    expect([duration(5), duration(65), duration(3725), duration(Infinity)]).toEqual(['0:05', '1:05', '1:02:05', '?']);
  });
});
