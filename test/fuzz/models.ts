/** The corpus models the fuzzer mutates: the small ones, so that a case takes milliseconds. */
import { corpusModel } from '../paths.js';

const NAMES = [
  'bn_preserve', 'concat_case', 'convtranspose', 'groupconv', 'linear_mlp', 'lstm_small', 'residual_chain',
  'fmnist_resnet', 'fmnist_vgg', 'transformer_block', 'unet_small', 'weightshare',
];

export const FUZZ_MODELS = NAMES.map((name) => ({ name, path: corpusModel(name) }));
