/** The distillation defaults, apart from what distilling loads, so that parsing the options loads no tfjs. */

/** T of the KL divergence on softened logits (NNI's convention). */
export const DEFAULT_TEMPERATURE = 2;

/** α, the distillation loss's weight when the data is labeled: chosen on the validation split (bench/distill-fmnist.ts: 0.5 against 0.9). */
export const DEFAULT_DISTILL_WEIGHT = 0.5;
