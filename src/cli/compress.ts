import type { Argv, CommandModule } from 'yargs';
import { fitToModelInput } from '../data/index.js';
import { OtocError } from '../errors.js';
import { writeFileAtomically } from '../io/atomic.js';
import { validateJson } from '../io/json-schema.js';
import { dimsToShape } from '../ir/types.js';
import { pruneAndMeasure, type CompressionMeasurements } from '../pipeline/compress.js';
import { dhspgDefaults } from '../train/dhspg.js';
import { defaultChannelFloor, defaultDeadline, dhspgPlugin, type DhspgSettings, type StartPruning } from '../train/dhspg-plugin.js';
import { symbolicInputs, symbolicNote, type SymbolicInput } from '../ir/input-shapes.js';
import { loadModel } from './load-model.js';
import { percent } from './progress.js';
import { SHAPE_OPTION, shapeOverrides } from './shape-option.js';
import { runSettings, runTraining, withTrainingOptions, type TrainingArgs } from './training-run.js';

export interface CompressArgs extends TrainingArgs {
  targetSparsity: number;
  tolerance: number;
  lambda?: number;
  lambdaAmplify?: number;
  hatLambdaCoeff?: number;
  epsilon: number;
  startPruning: string;
  partitionStep?: number;
  halfSpaceStep?: number;
  groupDivisible: number;
  channelFloor?: number;
  deadline?: number;
  fixedLambda?: boolean;
  shrink: boolean;
  evalSplit: 'val' | 'test';
  report?: string;
  keepFull?: string;
  shape?: string[];
}

/** `otoc compress --report` (schemas/report.schema.json). */
export type CompressionReport = {
  model: string;
  output: string;
  fullModel?: string;
  training: { seconds: number; epochs: number; steps: number; optimizer: string; backend: string; imagesPerSecond: number };
  warnings?: string[];
  /** Inputs whose shapes still hold symbolic dims after --shape: the MACs count those dims as 1. */
  symbolicInputs?: SymbolicInput[];
} & CompressionMeasurements;

/** The compress options on top of the training ones; also the one-liner's (`otoc model.onnx --data …`). */
export function withCompressOptions<T>(y: Argv<T>): Argv<T & CompressArgs> {
  return withTrainingOptions(y, { epochs: 10 })
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the small model' })
    .option('target-sparsity', { type: 'number', default: 0.7, describe: 'Fraction of the prunable groups to drive to exactly zero' })
    .option('tolerance', { type: 'number', default: 0.05, describe: 'Group sparsity never exceeds min(target + tolerance, 0.999); groups beyond the target are penalized only where --group-divisible rounding needs them' })
    .option('lambda', { type: 'number', describe: 'Base strength λ of the group-lasso pull (default: 1e-3 for sgd, 1e-2 for adam/adamw)' })
    .option('lambda-amplify', { type: 'number', describe: 'λ amplification when the gradient pushes a group away from zero (default 2 / 20)' })
    .option('hat-lambda-coeff', { type: 'number', describe: 'Upper clip of λ_g as a multiple of λ (default 10 / 1000)' })
    .option('epsilon', { type: 'number', default: 0, describe: 'Half-space projection threshold ε' })
    .option('start-pruning', {
      type: 'string',
      default: '1',
      describe: 'When pruning starts (partition and first half-space projection): epochs, or steps with a "steps" suffix (e.g. 200steps)',
    })
    .option('partition-step', { type: 'number', describe: 'Override: the step at which the groups to zero are chosen' })
    .option('half-space-step', { type: 'number', describe: 'Override: the step of the first half-space projection' })
    .option('group-divisible', { type: 'number', default: 1, describe: 'Keep a multiple of this many channels in every group set' })
    .option('channel-floor', {
      type: 'number',
      describe: 'Every group set keeps at least this fraction of its channels (while the target allows). Default: none up to target 0.7, then rising to 0.075 at 0.9',
    })
    .option('deadline', {
      type: 'number',
      describe: 'Fraction of training by which the target must be reached: λ rises when sparsity lags (see --fixed-lambda). Default: 0.65 up to target 0.7, then earlier, 0.25 from 0.9 on',
    })
    .option('fixed-lambda', { type: 'boolean', describe: "Keep λ fixed, as the original DHSPG (it may not reach the target in a short run)" })
    .option('shrink', {
      type: 'boolean',
      default: true,
      describe: 'Once the target is reached, train on the network without the zero groups: the same training up to float rounding, faster (--no-shrink: the full network to the end)',
    })
    .option('eval-split', { choices: ['val', 'test'] as const, default: 'val' as const, describe: 'Images that measure the accuracy of both models' })
    .option('report', { type: 'string', describe: 'Write the report as JSON (schemas/report.schema.json)' })
    .option('keep-full', { type: 'string', describe: 'Also write the trained full model (always kept, as <output>.full.onnx, when verification fails)' })
    .option('shape', SHAPE_OPTION)
    .option('json', { type: 'boolean', describe: 'Print the report as JSON instead of a table' }) as unknown as Argv<T & CompressArgs>;
}

export const compressCommand: CommandModule<object, CompressArgs> = {
  command: 'compress <model>',
  describe: 'Train once with DHSPG group sparsity, prune the zero groups, verify the small model against the trained one',
  builder: (y) =>
    withCompressOptions(y)
      .example('$0 compress model.onnx --data fashion-mnist --target-sparsity 0.7 -o small.onnx --report report.json', '')
      .example('$0 compress cnn.onnx --epochs 2 --limit 5000 --start-pruning 0.5 -o small.onnx', 'A quick run') as unknown as Argv<CompressArgs>,
  handler: (args) => compress(args),
};

export async function compress(args: CompressArgs): Promise<void> {
  const shapes = shapeOverrides(loadModel(args.model), args.shape);
  const method = dhspgSettings(args);
  const common = runSettings(args, method);
  const settings = { ...common, config: { ...common.config, shrink: args.shrink } };
  const dhspg = dhspgPlugin({ ...method, base: settings.optimizer });
  const run = await runTraining(args, settings, dhspg.plugins);
  const { trainer, model, data, finished } = run;
  try {
    if (!finished) return;
    trainer.exportTo(model);
    const evaluation = args.evalSplit === 'test' ? data.test : data.val;
    if (!evaluation) {
      throw new OtocError(args.evalSplit === 'test' ? `data set '${args.data}' has no test split` : 'no validation images: give --val-split > 0 or --eval-split test');
    }
    const input = model.graph.inputs.find((v) => !v.constant)!;
    const inputShape = input.type?.kind === 'tensor' && input.type.shape ? dimsToShape(input.type.shape) : [];
    const sampleDims = fitToModelInput(evaluation, inputShape);
    const result = await pruneAndMeasure(model, { data: evaluation, split: args.evalSplit, sampleDims }, args.targetSparsity, shapes);
    const symbolic = symbolicInputs(model, shapes);
    const keepFull = args.keepFull ?? (result.measurements.equivalence.equivalent ? undefined : `${args.output}.full.onnx`);
    writeFileAtomically(args.output, result.small);
    if (keepFull) writeFileAtomically(keepFull, result.full);
    const epochs = trainer.epochs;
    const seconds = epochs.reduce((a, e) => a + e.seconds, 0);
    const warnings = collapseWarnings(result.measurements.accuracy, data.train.classes);
    const report: CompressionReport = {
      model: args.model,
      output: args.output,
      ...(keepFull ? { fullModel: keepFull } : {}),
      ...result.measurements,
      training: {
        seconds,
        epochs: epochs.length,
        steps: epochs.at(-1)?.step ?? 0,
        optimizer: `dhspg-${settings.optimizer.kind}`,
        backend: run.backend,
        imagesPerSecond: seconds > 0 ? (data.train.labels.length * epochs.length) / seconds : 0,
      },
      ...(warnings.length ? { warnings } : {}),
      ...(symbolic.length ? { symbolicInputs: symbolic } : {}),
    };
    validateJson('report.schema.json', report);
    if (args.report) writeFileAtomically(args.report, JSON.stringify(report, null, 2) + '\n');
    console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
    const eq = report.equivalence;
    if (!eq.equivalent) {
      throw new OtocError(`the small model is not equivalent to the trained one (${eq.reason}); kept both: ${args.output}, ${keepFull}`, undefined, 1);
    }
  } finally {
    await trainer.dispose();
  }
}

function dhspgSettings(args: CompressArgs): Omit<DhspgSettings, 'base'> {
  const fraction = (flag: string, v: number, max: number) => {
    if (!(v >= 0 && v <= max)) throw new OtocError(`${flag} must be between 0 and ${max}, got ${v}`);
  };
  fraction('--target-sparsity', args.targetSparsity, 0.999);
  fraction('--tolerance', args.tolerance, 1);
  const deadline = args.deadline ?? defaultDeadline(args.targetSparsity);
  fraction('--deadline', deadline, 1);
  const channelFloor = args.channelFloor ?? defaultChannelFloor(args.targetSparsity);
  fraction('--channel-floor', channelFloor, 1);
  if (!(Number.isInteger(args.groupDivisible) && args.groupDivisible >= 1)) throw new OtocError('--group-divisible must be a positive integer');
  const defaults = dhspgDefaults(args.optimizer);
  return {
    targetSparsity: args.targetSparsity,
    tolerance: args.tolerance,
    lambda: args.lambda ?? defaults.lambda,
    amplify: args.lambdaAmplify ?? defaults.amplify,
    hatCoeff: args.hatLambdaCoeff ?? defaults.hatCoeff,
    epsilon: args.epsilon,
    groupDivisible: args.groupDivisible,
    channelFloor,
    seed: args.seed,
    startPruning: parseStartPruning(args.startPruning),
    ...(args.partitionStep !== undefined ? { partitionStep: args.partitionStep } : {}),
    ...(args.halfSpaceStep !== undefined ? { halfSpaceStep: args.halfSpaceStep } : {}),
    ...(args.fixedLambda ? {} : { deadline }),
  };
}

function parseStartPruning(text: string): StartPruning {
  const m = /^(\d+(?:\.\d+)?)\s*(steps?|epochs?)?$/.exec(String(text).trim());
  if (!m) throw new OtocError(`--start-pruning must be a number of epochs (e.g. 1) or of steps (e.g. 200steps), got '${text}'`);
  const n = Number(m[1]);
  return m[2]?.startsWith('step') ? { steps: Math.round(n) } : { epochs: n };
}

/**
 * A small model near chance accuracy: the network collapsed, as fmnist_vgg did at 0.9 on one
 * seed when its last groups went, leaving one channel in a conv (README, full protocol).
 */
export function collapseWarnings(accuracy: CompressionMeasurements['accuracy'], classes: number): string[] {
  const chance = 1 / classes;
  if (accuracy.small > 1.5 * chance) return [];
  return [
    `the small model's ${accuracy.split} accuracy ${percent(accuracy.small)} is near chance (${percent(chance)} for ${classes} classes): ` +
      'training collapsed; try a later --deadline, a lower --target-sparsity or a smaller --lr',
  ];
}

export function formatReport(r: CompressionReport): string {
  const int = (n: number) => n.toLocaleString('en-US');
  const change = (a: number, b: number) => (a ? `${b <= a ? '−' : '+'}${percent(Math.abs(a - b) / a)}` : '');
  const rows: [string, string, string, string][] = [
    ['parameters', int(r.full.parameters), int(r.small.parameters), change(r.full.parameters, r.small.parameters)],
    ['MACs', int(r.full.macs), int(r.small.macs), change(r.full.macs, r.small.macs)],
    ['file size (bytes)', int(r.full.fileBytes), int(r.small.fileBytes), change(r.full.fileBytes, r.small.fileBytes)],
    [`${r.accuracy.split} accuracy`, percent(r.accuracy.full), percent(r.accuracy.small), ''],
    ['latency (onnxruntime)', `${r.latency.fullMs.toFixed(3)} ms`, `${r.latency.smallMs.toFixed(3)} ms`, ''],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length), ['', 'full', 'small', ''][i].length));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('   ').trimEnd();
  const g = r.groupSparsity;
  const eq = r.equivalence;
  const t = r.training;
  return [
    `${r.model} -> ${r.output}`,
    '',
    line(['', 'full', 'small', '']),
    ...rows.map(line),
    '',
    `group sparsity: ${g.reached.toFixed(3)} reached (${g.zeroGroups} of ${g.groups} groups zero, target ${g.target}); ${g.removedGroups} groups removed`,
    `equivalence:    ${eq.equivalent ? 'equivalent' : 'NOT equivalent'}, max |Δ| ${eq.maxAbsDiff.toExponential(2)} over ${eq.inputSets} input sets (atol ${eq.atol}, rtol ${eq.rtol})`,
    `training:       ${t.epochs} epochs, ${t.steps} steps, ${t.seconds.toFixed(0)} s, ${t.imagesPerSecond.toFixed(0)} img/s (${t.optimizer}, ${t.backend})`,
    ...[symbolicNote(r.symbolicInputs ?? [])].filter((line) => line !== undefined),
    `wrote ${r.output}${r.fullModel ? ` and ${r.fullModel}` : ''}`,
    ...(r.warnings ?? []).map((w) => `warning: ${w}`),
  ].join('\n');
}
