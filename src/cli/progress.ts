import type { EpochReport, StepReport, TrainingObserver } from '../train/observer.js';
import { duration, percent } from '../util/format.js';

/** A terminal (or log) that progress is written to. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REDRAW_MS = 100;
/** Without a terminal: a line per tenth of an epoch, or per half minute when that comes first. */
const PLAIN_FRACTION = 0.1;
const PLAIN_MS = 30_000;

/**
 * Training progress: on a terminal a bar redrawn in place (epoch, steps, loss, accuracy, img/s,
 * time left); otherwise (CI logs) plain periodic lines.
 */
export class ProgressDisplay implements TrainingObserver {
  private lastDraw = 0;
  private lastPlainStep = 0;
  private shown = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly epochs: number,
    private readonly now: () => number = Date.now,
  ) {}

  onStep(r: StepReport): void {
    const time = this.now();
    if (this.sink.isTTY) {
      if (time - this.lastDraw < REDRAW_MS && r.stepInEpoch < r.stepsPerEpoch) return;
      this.lastDraw = time;
      this.sink.write(`\r\x1b[K${this.fit(this.barLine(r))}`);
      this.shown = true;
      return;
    }
    const dueSteps = Math.max(1, Math.round(r.stepsPerEpoch * PLAIN_FRACTION));
    if (r.step - this.lastPlainStep < dueSteps && time - this.lastDraw < PLAIN_MS) return;
    this.lastDraw = time;
    this.lastPlainStep = r.step;
    this.sink.write(`${this.statusText(r)}\n`);
  }

  onEpoch(_report: EpochReport): void {
    this.clear();
  }

  /** Removes the bar so that other output starts on a clean line. */
  clear(): void {
    if (this.shown) this.sink.write('\r\x1b[K');
    this.shown = false;
  }

  private barLine(r: StepReport): string {
    const width = 16;
    const filled = Math.round((width * r.stepInEpoch) / r.stepsPerEpoch);
    return `epoch ${r.epoch}/${this.epochs} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${r.stepInEpoch}/${r.stepsPerEpoch} ${this.metrics(r)}`;
  }

  private statusText(r: StepReport): string {
    return `epoch ${r.epoch}/${this.epochs} step ${r.stepInEpoch}/${r.stepsPerEpoch}  ${this.metrics(r)}`;
  }

  private metrics(r: StepReport): string {
    const stepsLeft = (this.epochs - r.epoch) * r.stepsPerEpoch + r.stepsPerEpoch - r.stepInEpoch;
    const secondsLeft = (stepsLeft * r.images) / r.imagesPerSecond;
    const accuracy = r.epochAccuracy === undefined ? '' : ` acc ${percent(r.epochAccuracy)}`;
    return `loss ${r.epochLoss.toFixed(3)}${accuracy} ${r.imagesPerSecond.toFixed(0)} img/s ETA ${duration(secondsLeft)}`;
  }

  private fit(line: string): string {
    const columns = this.sink.columns || 100; // 0 when the terminal does not say
    return line.length < columns ? line : line.slice(0, columns - 1);
  }
}
