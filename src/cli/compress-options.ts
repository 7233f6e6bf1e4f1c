/** The options of `otoc compress` and of the one-liner, apart from what compressing loads (tfjs among it). */
import type { Argv } from 'yargs';
import { withMethodOptions } from '../methods/method.js';
import { DEFAULT_METHOD, METHODS } from '../methods/registry.js';
import { SHAPE_OPTION } from './shape-option.js';
import { LR_DEFAULT_TEXT, TRAINING_DEFAULTS, withTrainingOptions, type TrainingArgs } from './training-options.js';

export interface CompressArgs extends TrainingArgs {
  method: string;
  targetSparsity?: number;
  targetParams?: number;
  targetMacs?: number;
  groupDivisible: number;
  channelFloor?: number;
  shrink: boolean;
  evalSplit: 'val' | 'test';
  report?: string;
  keepFull?: string;
  shape?: string[];
}

/** The compress options on top of the training ones, and every method's; also the one-liner's (`otoc model.onnx --data …`). */
export function withCompressOptions<T>(y: Argv<T>): Argv<T & CompressArgs> {
  const common = withMethodTrainingDefaults(withTrainingOptions(y, { epochs: 10 }))
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the small model' })
    .option('method', {
      choices: METHODS.map((m) => m.name),
      default: DEFAULT_METHOD,
      describe: `How to compress (each method's options follow under its name):\n${METHODS.map((m) => `${m.name}: ${m.summary}`).join('\n')}`,
    })
    .option('target-sparsity', { type: 'number', describe: 'Fraction of the prunable groups to remove (default 0.7 when no target is given)' })
    .option('target-params', {
      type: 'number',
      describe: 'Keep at most this fraction of the parameters, e.g. 0.1, counted on the small model as otoc inspect counts (in place of --target-sparsity)',
    })
    .option('target-macs', { type: 'number', describe: 'Keep at most this fraction of the MACs, counted on the small model (in place of --target-sparsity)' })
    .option('group-divisible', { type: 'number', default: 1, describe: 'Keep a multiple of this many channels in every group set' })
    .option('channel-floor', {
      type: 'number',
      describe: 'Every group set keeps at least this fraction of its channels (while the target allows). Default: none up to target 0.7, then rising to 0.075 at 0.9',
    })
    .option('shrink', {
      type: 'boolean',
      default: true,
      describe: 'Once the zero groups are settled, train on the network without them: the same training up to float rounding, faster (--no-shrink: the full network to the end)',
    })
    .option('eval-split', { choices: ['val', 'test'] as const, default: 'val' as const, describe: 'Images that measure the accuracy of both models' })
    .option('report', { type: 'string', describe: 'Write the report as JSON (schemas/report.schema.json)' })
    .option('keep-full', { type: 'string', describe: 'Also write the trained full model (always kept, as <output>.full.onnx, when verification fails)' })
    .option('shape', SHAPE_OPTION)
    .option('json', { type: 'boolean', describe: 'Print the report as JSON instead of a table' })
    .group(['output', 'method', 'target-sparsity', 'target-params', 'target-macs', 'group-divisible', 'channel-floor', 'shrink', 'eval-split', 'report', 'keep-full', 'shape', 'json'], 'Compression options:');
  return withMethodOptions(common, METHODS) as unknown as Argv<T & CompressArgs>;
}

/**
 * The base optimizer's options without yargs defaults: each method may have its own
 * (MethodCli.trainingDefaults), filled in by `compress`; --help lists them.
 */
function withMethodTrainingDefaults<T>(y: Argv<T>): Argv<T> {
  const flags = [['optimizer', 'optimizer'], ['lr', 'lr'], ['momentum', 'momentum'], ['weight-decay', 'weightDecay']] as const;
  return flags.reduce((out, [flag, key]) => {
    const own = METHODS.flatMap((m) => (m.cli?.trainingDefaults?.[key] === undefined ? [] : [`${m.name}: ${m.cli.trainingDefaults[key]}`]));
    return out.default(flag, undefined, [key === 'lr' ? LR_DEFAULT_TEXT : String(TRAINING_DEFAULTS[key]), ...own].join('; '));
  }, y);
}
