/** Plain training with the base optimizer (SGD, Adam, AdamW): `otoc train`, the dense baselines and fine-tuning. */
import { BaseOptimizer } from '../train/base-optimizers.js';
import type { BaseOptions } from '../train/optimizer.js';
import type { MethodPlugin } from './method.js';

export const plainTraining: MethodPlugin<BaseOptions> = {
  name: 'plain',
  module: import.meta.url,
  exportName: 'plainTraining',
  summary: 'Trains every parameter with the base optimizer; removes nothing.',
  session: (settings, setup) => ({ optimizer: new BaseOptimizer(setup.params, settings) }),
};
