import type { Argv } from 'yargs';
import { attributedTo } from '../errors.js';
import type { CommandBody } from './command.js';
import { writeModel } from '../onnx/write.js';
import { analyzeModel } from '../pipeline/analyze.js';
import { pruneModel } from '../pipeline/prune.js';
import { withCompressOptions, type CompressArgs } from './compress-options.js';
import { symbolicInputs } from '../ir/input-shapes.js';
import { loadDenseModel } from './load-model.js';
import { shapeOverrides } from './shape-option.js';
import { formatPruneSummary, pruneSummary } from './prune.js';

/**
 * `otoc model.onnx -o small.onnx`: the product's one command. Without --data it removes the
 * groups that are already zero (a model trained with group sparsity elsewhere); with --data it
 * is `otoc compress`: train with DHSPG, prune, verify. With sample inputs and no labels, the model
 * is its own teacher: any model whose ops the mirror trains compresses toward its own outputs.
 */
/** Without --data the one-liner prunes; the option has no default here, unlike in `compress`. */
type OneLinerArgs = Omit<CompressArgs, 'data'> & { data?: string };

export const oneLinerCommand: CommandBody<OneLinerArgs> = {
  builder: (y) =>
    (withCompressOptions(y).default('data', undefined) as unknown as Argv<OneLinerArgs>)
      .example('$0 trained.onnx -o small.onnx', 'Remove the groups a group-sparse training left at exactly zero')
      .example('$0 model.onnx --data fashion-mnist --target-sparsity 0.7 -o small.onnx', 'Train once with DHSPG, prune, verify (= otoc compress)')
      .example('$0 model.onnx --data samples/ -o small.onnx', "Any trained model, from sample inputs alone (a .npy per input, or ONNX test data): distilled from its own outputs"),
  handler: async (args) => {
    // Only training loads tfjs: the command without --data starts without it.
    if (args.data !== undefined) return (await import('./compress.js')).compress({ ...args, data: args.data });
    const model = loadDenseModel(args.model, 'otoc prune');
    const shapes = shapeOverrides(model, args.shape);
    const symbolic = symbolicInputs(model, shapes);
    const outcome = attributedTo(args.model, () => pruneModel(analyzeModel(model), { shapes }));
    writeModel(outcome.small, args.output);
    const hint = 'to train it with group sparsity and then prune it, add --data, e.g. --data fashion-mnist';
    console.log(formatPruneSummary(args.model, args.output, pruneSummary(outcome, symbolic), hint));
  },
};
