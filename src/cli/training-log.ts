import { appendFileSync, writeFileSync } from 'node:fs';
import { OtocError } from '../errors.js';
import { checkReplaceable } from '../io/run-files.js';
import type { Metrics } from '../methods/method.js';
import type { EpochReport, StepReport, TrainingObserver } from '../train/observer.js';
import type { ShrinkReport } from '../train/shrink.js';

/*
 * `--log metrics.jsonl`: one JSON object per line, following schemas/training-log.schema.json.
 * A `start` record opens every run (a resumed run appends to the same file), a `step` record
 * sums up every `every` steps, an `epoch` record follows every epoch's validation, and a
 * `shrink` record says when training moved to the network without the settled zero groups.
 */

export interface StartRecord {
  type: 'start';
  time: string;
  /** True when the run continues from a checkpoint; `step` is where it starts. */
  resumed: boolean;
  step: number;
  /** The run's settings (model, data, options). */
  settings: Record<string, unknown>;
}

export interface StepRecord {
  type: 'step';
  epoch: number;
  step: number;
  lr: number;
  /** Means over the steps since the previous step record. */
  steps: number;
  loss: number;
  /** Where the objective counts correct predictions. */
  accuracy?: number;
  imagesPerSecond: number;
  extra: Metrics;
}

export type EpochRecord = { type: 'epoch' } & EpochReport;
export type ShrinkRecord = { type: 'shrink' } & ShrinkReport;
export type LogRecord = StartRecord | StepRecord | EpochRecord | ShrinkRecord;

export class TrainingLog implements TrainingObserver {
  private window = { steps: 0, lossSum: 0, correct: 0, images: 0, seconds: 0 };

  /** Starts the file afresh, or appends to it when the run is resumed. */
  constructor(
    private readonly path: string,
    private readonly every: number,
    start: Omit<StartRecord, 'type' | 'time'>,
  ) {
    if (!(Number.isInteger(every) && every > 0)) throw new OtocError(`--log-every must be a positive integer, got ${every}`);
    const first = `${JSON.stringify({ type: 'start', time: new Date().toISOString(), ...start } satisfies StartRecord)}\n`;
    checkReplaceable(path);
    try {
      if (start.resumed) appendFileSync(path, first);
      else writeFileSync(path, first);
    } catch (e) {
      throw new OtocError(`cannot write the log (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
    }
  }

  onStep(r: StepReport): void {
    const w = this.window;
    w.steps++;
    w.lossSum += r.loss * r.images;
    if (r.accuracy !== undefined) w.correct += r.accuracy * r.images;
    w.images += r.images;
    w.seconds += r.seconds;
    if (w.steps < this.every && r.stepInEpoch < r.stepsPerEpoch) return;
    this.append({
      type: 'step',
      epoch: r.epoch,
      step: r.step,
      lr: r.lr,
      steps: w.steps,
      loss: w.lossSum / w.images,
      ...(r.accuracy !== undefined && { accuracy: Math.round(w.correct) / w.images }),
      imagesPerSecond: w.images / w.seconds,
      extra: r.extra,
    });
    this.window = { steps: 0, lossSum: 0, correct: 0, images: 0, seconds: 0 };
  }

  onEpoch(r: EpochReport): void {
    this.append({ type: 'epoch', ...r });
  }

  onShrink(r: ShrinkReport): void {
    this.append({ type: 'shrink', ...r });
  }

  private append(record: LogRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }
}
