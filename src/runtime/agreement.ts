/**
 * How closely one model's outputs follow another's (a small model's, its teacher's) on samples,
 * in onnxruntime: per output the relative error ‖y − y_ref‖ / ‖y_ref‖ over every value and the
 * largest |y − y_ref|, top-1 agreement for logits, and both models' accuracy on labeled samples.
 */
import type ort from 'onnxruntime-node';
import { sliceSamples, type Samples } from '../data/samples.js';
import { isNumeric } from '../ir/tensor.js';
import { argMax, callBatch, countTop1, sampleFeeds } from './evaluate.js';
import { runSession } from './ort.js';
import { floats } from './teacher.js';

export interface OutputAgreement {
  name: string;
  relativeError: number;
  maxAbsDiff: number;
  /** For logits: the fraction of samples whose largest score is at the same class. */
  top1?: number;
}

export interface Agreement {
  samples: number;
  outputs: OutputAgreement[];
  /** Top-1 accuracy of both models by their first output, when the samples are labeled. */
  accuracy?: { reference: number; candidate: number };
}

/** `candidate` against `reference` on `samples`; `logits` names the outputs that get top-1 agreement. */
export async function agreement(
  reference: ort.InferenceSession,
  candidate: ort.InferenceSession,
  samples: Samples,
  logits: ReadonlySet<string>,
  batch = 100,
): Promise<Agreement> {
  const fixed = callBatch(reference) ?? callBatch(candidate);
  const perCall = fixed ?? batch;
  const end = fixed ? samples.count - (samples.count % fixed) : samples.count;
  const sums = new Map<string, { diff: number; ref: number; max: number; agree: number }>();
  const correct = { reference: 0, candidate: 0 };
  const labels = samples.labels;
  for (let start = 0; start < end; start += perCall) {
    const count = Math.min(perCall, end - start);
    const feeds = sampleFeeds(sliceSamples(samples, start, start + count));
    const [refOut, candOut] = [await runSession(reference, feeds), await runSession(candidate, feeds)];
    if (labels) {
      correct.reference += countTop1(floats(refOut[0]), count, (i) => labels[start + i]);
      correct.candidate += countTop1(floats(candOut[0]), count, (i) => labels[start + i]);
    }
    for (const c of candOut.filter(isNumeric)) {
      const r = refOut.find((t) => t.name === c.name);
      if (!r || !isNumeric(r)) continue;
      const [x, y] = [floats(c), floats(r)];
      const s = sums.get(c.name) ?? { diff: 0, ref: 0, max: 0, agree: 0 };
      for (let i = 0; i < x.length; i++) {
        const d = Math.abs(x[i] - y[i]);
        s.diff += d * d;
        s.ref += y[i] * y[i];
        if (!(d <= s.max)) s.max = d;
      }
      if (logits.has(c.name)) {
        const classes = x.length / count;
        for (let i = 0; i < count; i++) if (argMax(x, i * classes, classes) === argMax(y, i * classes, classes)) s.agree++;
      }
      sums.set(c.name, s);
    }
  }
  return {
    samples: end,
    outputs: [...sums].map(([name, s]) => ({
      name,
      relativeError: s.ref > 0 ? Math.sqrt(s.diff / s.ref) : Math.sqrt(s.diff),
      maxAbsDiff: s.max,
      ...(logits.has(name) && { top1: s.agree / end }),
    })),
    ...(labels && { accuracy: { reference: correct.reference / end, candidate: correct.candidate / end } }),
  };
}
