import type ort from 'onnxruntime-node';
import { sliceSamples, type Samples } from '../data/samples.js';
import { DataType } from '../ir/dtype.js';
import { makeTensor } from '../ir/tensor.js';
import { runSession, type Feeds } from './ort.js';

/**
 * Top-1 accuracy of a classifier session on labeled `samples`, in onnxruntime (the first output
 * holds the scores). A model whose file fixes the batch (exporters write 1) runs that many
 * samples per call; a free batch runs `batch` at a time.
 */
export async function accuracy(session: ort.InferenceSession, samples: Samples, batch = 100): Promise<number> {
  const labels = samples.labels!;
  const declared = (session.inputMetadata[0] as { shape?: (number | string)[] }).shape?.[0];
  const perCall = typeof declared === 'number' && declared > 0 ? declared : batch;
  const n = samples.count;
  let correct = 0;
  for (let start = 0; start + perCall <= n; start += perCall) {
    const [logits] = await runSession(session, sampleFeeds(sliceSamples(samples, start, start + perCall)));
    const scores = logits.data as Float32Array;
    const classes = scores.length / perCall;
    for (let i = 0; i < perCall; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
      if (best === labels[start + i]) correct++;
    }
  }
  return correct / (n - (n % perCall));
}

/** The model inputs of `samples`, as onnxruntime feeds [count, ...sampleDims]. */
export function sampleFeeds(samples: Samples): Feeds {
  return Object.fromEntries(
    samples.inputs.map((t) => [
      t.name,
      makeTensor(t.name, t.data instanceof Int32Array ? DataType.INT32 : DataType.FLOAT, [samples.count, ...t.sampleDims], t.data),
    ]),
  );
}
