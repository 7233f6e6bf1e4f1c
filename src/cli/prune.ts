import type { CommandBody } from './command.js';
import { OtocError, attributedTo } from '../errors.js';
import type { Model } from '../ir/graph.js';
import { canonicalPath } from '../io/run-files.js';
import { writeModel } from '../onnx/write.js';
import { analyzeModel } from '../pipeline/analyze.js';
import { pruneModel, randomZero, type PruneOutcome } from '../pipeline/prune.js';
import { symbolicInputs, symbolicNote, type SymbolicInput } from '../ir/input-shapes.js';
import { loadDenseModel } from './load-model.js';
import { SHAPE_OPTION, shapeOverrides } from './shape-option.js';

interface PruneArgs {
  model: string;
  output: string;
  randomZero?: number;
  seed: number;
  emitFull?: string;
  shape?: string[];
  json?: boolean;
}

export const pruneCommand: CommandBody<PruneArgs> = {
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the small model' })
      .option('random-zero', {
        type: 'number',
        describe: 'Sanity check: first zero this fraction (0..1) of the prunable groups of every group set',
      })
      .option('seed', { type: 'number', default: 0, describe: 'Seed for --random-zero' })
      .option('emit-full', { type: 'string', describe: 'Also write the full model that was pruned (with its zero groups)' })
      .option('shape', SHAPE_OPTION)
      .option('json', { type: 'boolean', describe: 'Print the summary as JSON' })
      .example('$0 prune trained.onnx -o small.onnx', 'Remove the groups a group-sparse training left at zero')
      .example(
        '$0 prune model.onnx --random-zero 0.5 --emit-full full.onnx -o small.onnx && $0 verify full.onnx small.onnx --random 4',
        'Check that pruning is exact',
      ),
  handler: (args) => {
    const f = args.randomZero;
    if (f !== undefined && !(f >= 0 && f <= 1)) throw new OtocError(`--random-zero must be between 0 and 1, got ${f}`);
    const emitFull = args.emitFull;
    if (emitFull !== undefined && canonicalPath(emitFull) === canonicalPath(args.output)) {
      throw new OtocError('--emit-full and -o name the same file; give the full model a name of its own', args.output);
    }
    const writeFull = emitFull === undefined ? undefined : (full: Model) => writeModel(full, emitFull);
    const model = loadDenseModel(args.model, 'otoc prune');
    const shapes = shapeOverrides(model, args.shape);
    const symbolic = symbolicInputs(model, shapes);
    const zero = f === undefined ? undefined : randomZero(f, args.seed);
    const outcome = attributedTo(args.model, () => pruneModel(analyzeModel(model), { zero, shapes, onFull: writeFull }));
    writeModel(outcome.small, args.output);
    const summary = pruneSummary(outcome, symbolic);
    console.log(args.json ? JSON.stringify(summary, null, 2) : formatPruneSummary(args.model, args.output, summary));
  },
};

export interface PruneSummary {
  prunableGroups: number;
  /** Groups removed, of each kind: zero, or dead (nothing read them). */
  removedGroups: number;
  removed: { zero: number; dead: number };
  parameters: { before: number; after: number };
  macs: { before: number; after: number };
  /** Inputs whose shapes still hold symbolic dims after --shape: the MACs count those dims as 1. */
  symbolicInputs?: SymbolicInput[];
}

export function pruneSummary(o: PruneOutcome, symbolic: SymbolicInput[]): PruneSummary {
  return {
    prunableGroups: o.prunableGroups,
    removedGroups: o.removedGroups,
    removed: { zero: o.removedGroups - o.removedDead, dead: o.removedDead },
    parameters: { before: o.before.parameters, after: o.after.parameters },
    macs: { before: o.before.totalMacs, after: o.after.totalMacs },
    ...(symbolic.length ? { symbolicInputs: symbolic } : {}),
  };
}

/** `noneZeroHint` is what to do when no group is zero. */
export function formatPruneSummary(
  input: string,
  output: string,
  s: PruneSummary,
  noneZeroHint = 'train with group sparsity first, e.g. otoc compress',
): string {
  const pct = (a: number, b: number) => (b ? ` (${((100 * (b - a)) / b).toFixed(1)}% fewer)` : '');
  const lines = [
    `${input}: removed ${s.removedGroups} of ${s.prunableGroups} prunable groups (${s.removed.zero} zero, ${s.removed.dead} dead: nothing read them)`,
    `parameters: ${s.parameters.before} -> ${s.parameters.after}${pct(s.parameters.after, s.parameters.before)}`,
    `MACs:       ${s.macs.before} -> ${s.macs.after}${pct(s.macs.after, s.macs.before)}`,
    ...[symbolicNote(s.symbolicInputs ?? [])].filter((line) => line !== undefined),
    `wrote ${output}`,
  ];
  if (s.removedGroups === 0) {
    lines.splice(1, 0, `no group is exactly zero: the model is unchanged (${noneZeroHint})`);
  }
  return lines.join('\n');
}
