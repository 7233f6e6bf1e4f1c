import { zooEntry } from '../models/zoo.js';
import { modelImageSamples, type DataSplits } from '../src/data/index.js';
import type { MethodUse } from '../src/methods/method.js';
import { CROSS_ENTROPY } from '../src/objectives/cross-entropy.js';
import type { PipelineInput } from '../src/pipeline/plan.js';
import type { BaseOptions } from '../src/train/optimizer.js';
import { EVAL_BATCH_SIZE } from '../src/train/trainer.js';

/** The zoo small-cnn (seed 0) for 28×28 images and 10 classes. */
export const smallCnn = () => zooEntry('small-cnn')!.build({ input: [1, 28, 28], classes: 10, seed: 0 });

/** A pipeline input for tests: `method` on the small CNN, 2 epochs of batch 32 at `lr`, accuracy on the validation images. */
export function smallCnnInput(data: DataSplits, method: MethodUse, base: BaseOptions, lr: number, extra: Partial<PipelineInput> = {}): PipelineInput {
  const model = smallCnn();
  const samples = (split: typeof data.train) => modelImageSamples(model, split);
  return {
    model,
    data: { train: samples(data.train) },
    evaluation: { split: 'val', samples: samples(data.val!) },
    config: { epochs: 2, batchSize: 32, lr, schedule: 'cosine', seed: 1, evalBatchSize: EVAL_BATCH_SIZE },
    base,
    method,
    objectives: [CROSS_ENTROPY],
    backend: 'wasm',
    latencyRuns: 3,
    ...extra,
  };
}
