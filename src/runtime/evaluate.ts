import type ort from 'onnxruntime-node';
import { DataType } from '../ir/dtype.js';
import { makeTensor } from '../ir/tensor.js';
import type { Dataset } from '../data/types.js';
import { runSession } from './ort.js';

/**
 * Top-1 accuracy of a classifier session on `data`, in onnxruntime. A model whose file fixes the
 * batch (exporters write 1) runs that many images per call; a free batch runs `batch` at a time.
 */
export async function accuracy(session: ort.InferenceSession, data: Dataset, sampleDims: number[], batch = 100): Promise<number> {
  const input = session.inputNames[0];
  const declared = (session.inputMetadata[0] as { shape?: (number | string)[] }).shape?.[0];
  const perCall = typeof declared === 'number' && declared > 0 ? declared : batch;
  const size = sampleDims.reduce((a, b) => a * b, 1);
  const n = data.labels.length;
  let correct = 0;
  for (let start = 0; start + perCall <= n; start += perCall) {
    const images = data.images.subarray(start * size, (start + perCall) * size);
    const [logits] = await runSession(session, { [input]: makeTensor(input, DataType.FLOAT, [perCall, ...sampleDims], images) });
    const scores = logits.data as Float32Array;
    const classes = scores.length / perCall;
    for (let i = 0; i < perCall; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
      if (best === data.labels[start + i]) correct++;
    }
  }
  return correct / (n - (n % perCall));
}
