/** Mean squared error of model outputs against per-sample targets of the same name. */
import * as tf from '@tensorflow/tfjs';
import { OtocError } from '../errors.js';
import { formatShape } from '../ir/types.js';
import type { ObjectivePlugin } from './objective.js';

export interface MseSettings {
  /** The outputs compared, each with the batch's target of its name; by default every output. */
  outputs?: string[];
}

export const mseObjective: ObjectivePlugin<MseSettings> = {
  name: 'mse',
  module: import.meta.url,
  exportName: 'mseObjective',

  check(settings, { model, facts, data }) {
    const names = settings.outputs ?? model.graph.outputs.map((v) => v.name);
    for (const name of names) {
      const output = model.graph.outputs.find((v) => v.name === name);
      if (!output) throw new OtocError(`the model has no output '${name}'`);
      const target = data.targets?.find((t) => t.name === name);
      if (!target) throw new OtocError(`the data has no target for the output '${name}'`);
      const [, ...dims] = facts.get(output)?.shape ?? [];
      if (dims.length !== target.sampleDims.length || dims.some((d, i) => typeof d === 'number' && d !== target.sampleDims[i])) {
        throw new OtocError(`the output '${name}' has shape ${formatShape(facts.get(output)?.shape)}, its targets ${formatShape(['N', ...target.sampleDims])}`);
      }
    }
  },

  create(settings, outputs) {
    const names = settings.outputs ?? [...outputs];
    return {
      loss: (out, batch) => tf.addN(names.map((name) => tf.losses.meanSquaredError(batch.targets[name], out.get(name)!))) as tf.Scalar,
    };
  },
};
