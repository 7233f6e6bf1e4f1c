import type { Argv } from 'yargs';
import type { CommandBody } from './command.js';
import { OtocError } from '../errors.js';
import { writeFileAtomically } from '../io/atomic.js';
import { validateJson } from '../io/json-schema.js';
import type { MethodUse } from '../methods/method.js';
import { checkMethodOptions, methodNamed } from '../methods/registry.js';
import { pruningTarget } from '../methods/target.js';
import { compress as compressPipeline } from '../pipeline/compress.js';
import type { CompressionResult } from '../pipeline/report.js';
import { parseShapeOverrides, symbolicNote } from '../ir/input-shapes.js';
import { percent } from '../util/format.js';
import type { TrainingMode } from '../train/mode.js';
import { withCompressOptions, type CompressArgs } from './compress-options.js';
import { describeRun, distillChoice, distilledInput } from './distill-run.js';
import { withTrainingDefaults } from './training-options.js';
import { baseOptimizer, pipelineInput, prepareRun, runPipeline, runSettings } from './training-run.js';

/** `otoc compress --report` (schemas/report.schema.json). */
export type CompressionReport = {
  model: string;
  output: string;
  fullModel?: string;
} & CompressionResult;

export const compressCommand: CommandBody<CompressArgs> = {
  builder: (y) =>
    withCompressOptions(y)
      .example('$0 compress model.onnx --data fashion-mnist --target-sparsity 0.7 -o small.onnx --report report.json', '')
      .example('$0 compress cnn.onnx --epochs 2 --limit 5000 --start-pruning 0.5 -o small.onnx', 'A quick run')
      .example(
        '$0 compress model.onnx --method autocompress --data fashion-mnist --target-params 0.1 -o small.onnx --report r.json',
        'Searched per-layer rates under a budget of 10% of the parameters',
      )
      .example('$0 compress detector.onnx --data samples/ -o small.onnx', 'A trained model of any kind, from unlabeled sample inputs: it is its own teacher')
      .example('$0 compress trained.onnx --data fashion-mnist --distill -o small.onnx', 'A trained classifier fine-tuned with cross-entropy and distillation') as unknown as Argv<CompressArgs>,
  handler: (args) => compress(args),
};

export async function compress(given: CompressArgs): Promise<void> {
  const plugin = methodNamed(given.method);
  checkMethodOptions(given as unknown as Record<string, unknown>, plugin);
  const args = withTrainingDefaults(given, plugin.cli?.trainingDefaults);
  const base = baseOptimizer(args);
  const target = pruningTarget(args, parseShapeOverrides(args.shape ?? []));
  const methodSettings = (mode: TrainingMode) => plugin.cli?.settings(args as unknown as Record<string, unknown>, { base, seed: args.seed, target, mode }) ?? {};
  // The mode's defaults need the data (are there labels?); the method's own options are checked before it loads.
  methodSettings(args.mode ?? 'scratch');
  const run = await prepareRun(args, args.shape);
  const choice = distillChoice(args, run.samples.train.labels !== undefined, true);
  const method: MethodUse = { plugin, settings: methodSettings(choice.mode) };
  const runWide = runSettings(args, method.settings, choice);
  const settings = { ...runWide, config: { ...runWide.config, shrink: args.shrink } };
  const evaluation = args.evalSplit === 'test' ? run.samples.test : run.samples.val;
  if (!evaluation) {
    throw new OtocError(args.evalSplit === 'test' ? `data set '${args.data}' has no test split` : 'no validation samples: give --val-split > 0 or --eval-split test');
  }
  const plain = { ...pipelineInput(args, settings, run, method), target, shapes: run.shapes, evaluation: { split: args.evalSplit, samples: evaluation } };
  const { input, setup } = await distilledInput(args, choice, plain);
  if (!args.json) console.log(describeRun(choice, settings.config.lr, setup, args).join('\n'));
  const compressed = await runPipeline(args, settings, run.backend, (control) => compressPipeline(input, control));
  if (!compressed) return;
  const { result, full, small } = compressed;
  const keepFull =
    args.keepFull ?? plugin.cli?.fullModelFile?.(args as unknown as Record<string, unknown>) ?? (result.equivalence.equivalent ? undefined : `${args.output}.full.onnx`);
  writeFileAtomically(args.output, small);
  if (keepFull) writeFileAtomically(keepFull, full);
  const report: CompressionReport = { model: args.model, output: args.output, ...(keepFull ? { fullModel: keepFull } : {}), ...result };
  validateJson('report.schema.json', report);
  if (args.report) writeFileAtomically(args.report, JSON.stringify(report, null, 2) + '\n');
  console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
  const eq = report.equivalence;
  if (!eq.equivalent) {
    throw new OtocError(`the small model is not equivalent to the trained one (${eq.reason}); kept both: ${args.output}, ${keepFull}`, undefined, 1);
  }
}

export function formatReport(r: CompressionReport): string {
  const int = (n: number) => n.toLocaleString('en-US');
  const change = (a: number, b: number) => (a ? `${b <= a ? '−' : '+'}${percent(Math.abs(a - b) / a)}` : '');
  const rows: [string, string, string, string][] = [
    ['parameters', int(r.full.parameters), int(r.small.parameters), change(r.full.parameters, r.small.parameters)],
    ['MACs', int(r.full.macs), int(r.small.macs), change(r.full.macs, r.small.macs)],
    ['file size (bytes)', int(r.full.fileBytes), int(r.small.fileBytes), change(r.full.fileBytes, r.small.fileBytes)],
    ...(r.accuracy ? [[`${r.accuracy.split} accuracy`, percent(r.accuracy.full), percent(r.accuracy.small), ''] as [string, string, string, string]] : []),
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
    ...(g ? [`group sparsity: ${g.reached.toFixed(3)} reached (${g.zeroGroups} of ${g.groups} groups zero, target ${g.target.toFixed(3)}); ${g.removedGroups} groups removed${g.removedDead ? ` (${g.removedDead} of them dead: nothing read them)` : ''}`] : []),
    ...(r.budget && r.budget.kind !== 'groups' ? [budgetLine(r.budget)] : []),
    ...(methodNamed(r.method.name).reportLines?.(r.method, r) ?? []),
    `equivalence:    ${eq.equivalent ? 'equivalent' : 'NOT equivalent'}, max |Δ| ${eq.maxAbsDiff.toExponential(2)} over ${eq.inputSets} input sets (atol ${eq.atol}, rtol ${eq.rtol})`,
    `training:       ${t.epochs} epochs, ${t.steps} steps, ${t.seconds.toFixed(0)} s, ${t.imagesPerSecond.toFixed(0)} img/s (${t.optimizer}, ${t.backend}${t.mode ? `, ${t.mode}` : ''})`,
    ...(r.distillation ? formatDistillation(r.distillation) : []),
    ...[symbolicNote(r.symbolicInputs ?? [])].filter((line) => line !== undefined),
    `wrote ${r.output}${r.fullModel ? ` and ${r.fullModel}` : ''}`,
    ...(r.warnings ?? []).map((w) => `warning: ${w}`),
  ].join('\n');
}

function budgetLine(b: NonNullable<CompressionReport['budget']>): string {
  const what = b.kind === 'params' ? 'parameters' : 'MACs';
  const of = (b.kind === 'params' ? b.original.parameters : b.original.macs).toLocaleString('en-US');
  return `budget:         ${b.reached.toFixed(4)} of the original ${of} ${what} kept (asked ≤ ${b.asked})`;
}

/** The small model against its teacher: per output its top-1 agreement (logits), relative error and largest difference. */
function formatDistillation(d: NonNullable<CompressionReport['distillation']>): string[] {
  const header = ['output', 'kind', 'top-1 agreement', 'rel. error', 'max |Δ|'];
  const rows = d.outputs.map((o) => [o.name, o.kind, o.agreement ? percent(o.agreement.top1) : '', o.relativeError.toPrecision(3), o.maxAbsDiff.toPrecision(3)]);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `  ${row.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('   ')}`.trimEnd();
  const accuracy = d.accuracy ? [`  ${d.split} accuracy: teacher ${percent(d.accuracy.teacher)}, small ${percent(d.accuracy.small)}`] : [];
  const loss = d.weight === 1 ? 'distillation alone' : `${+(1 - d.weight).toFixed(3)}·CE + ${d.weight}·KD`;
  const temperature = d.outputs.some((o) => o.kind === 'logits') ? `, T ${d.temperature}` : '';
  return [`distillation:   against ${d.teacher} on ${d.samples.toLocaleString('en-US')} ${d.split} samples (${loss}${temperature})`, line(header), ...rows.map(line), ...accuracy];
}
