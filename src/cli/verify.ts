import type { CommandBody } from './command.js';
import { OtocError, attributedTo } from '../errors.js';
import { validateJson } from '../io/json-schema.js';
import { DEFAULT_TOLERANCE, Tolerance } from '../runtime/compare-outputs.js';
import { EquivalenceReport, Subject, checkEquivalence } from '../runtime/equivalence.js';
import type { Model } from '../ir/graph.js';
import { parseShapeOverrides, symbolicInputs, symbolicNote, type SymbolicInput } from '../ir/input-shapes.js';
import { InputSource, inputSets } from '../runtime/inputs.js';
import { createSession } from '../runtime/ort.js';
import { formatShape } from '../ir/types.js';
import { loadModel } from './load-model.js';
import { SHAPE_OPTION } from './shape-option.js';

interface VerifyArgs {
  a: string;
  b: string;
  input?: string;
  random?: number;
  seed: number;
  shape?: string[];
  atol: number;
  rtol: number;
  json?: boolean;
}

/** Random input sets used when neither --input nor --random is given. */
const DEFAULT_RANDOM_SETS = 3;

export const verifyCommand: CommandBody<VerifyArgs> = {
  builder: (y) =>
    y
      .positional('a', { type: 'string', demandOption: true, describe: 'Reference model' })
      .positional('b', { type: 'string', demandOption: true, describe: 'Model to check against it' })
      .option('input', {
        type: 'string',
        conflicts: ['random', 'shape'],
        describe: 'ONNX test data folder (input_0.pb, input_1.pb, ... in model input order)',
      })
      .option('random', {
        type: 'number',
        describe: `Number of random input sets (${DEFAULT_RANDOM_SETS} when --input is not given)`,
      })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the random inputs' })
      .option('shape', SHAPE_OPTION)
      .option('atol', { type: 'number', default: DEFAULT_TOLERANCE.atol, describe: 'Absolute tolerance' })
      .option('rtol', { type: 'number', default: DEFAULT_TOLERANCE.rtol, describe: 'Tolerance relative to max|a|' })
      .option('json', { type: 'boolean', describe: 'Print the result as JSON (schemas/verify.schema.json)' })
      .example('$0 verify full.onnx small.onnx --input test_data_set_0', 'Compare on stored inputs')
      .example('$0 verify full.onnx small.onnx --random 5 --seed 1 --atol 1e-5', 'Compare on 5 random input sets'),
  handler: async (args) => {
    const tolerance = toleranceOf(args);
    const source = inputSourceOf(args);
    // Both files are checked before onnxruntime sees them, so that bad input gets otoc's one-line errors.
    const modelA = loadModel(args.a);
    loadModel(args.b);
    const a: Subject = { label: args.a, session: await createSession(args.a) };
    const b: Subject = { label: args.b, session: await createSession(args.b) };
    try {
      const sets = attributedTo(args.a, () => inputSets(source, modelA, a.session.inputNames));
      const report = await checkEquivalence(a, b, sets, tolerance);
      const result: VerifyResult = { a: args.a, b: args.b, inputs: describeSource(source, modelA), tolerance, ...report };
      if (args.json) {
        validateJson('verify.schema.json', result);
        console.log(JSON.stringify(result, null, 2));
      } else {
        console.log(formatResult(result));
      }
      process.exitCode = report.equivalent ? 0 : 1;
    } finally {
      await Promise.all([a.session.release(), b.session.release()]);
    }
  },
};

/** What `otoc verify --json` prints (schemas/verify.schema.json). */
type VerifyResult = {
  a: string;
  b: string;
  inputs:
    | { kind: 'test-data'; dir: string }
    | { kind: 'random'; count: number; seed: number; shapes: Record<string, number[]>; symbolicInputs?: SymbolicInput[] };
  tolerance: Tolerance;
} & EquivalenceReport;

function toleranceOf(args: VerifyArgs): Tolerance {
  for (const name of ['atol', 'rtol'] as const) {
    if (!Number.isFinite(args[name]) || args[name] < 0) throw new OtocError(`--${name} must be a number ≥ 0`);
  }
  return { atol: args.atol, rtol: args.rtol };
}

function inputSourceOf(args: VerifyArgs): InputSource {
  if (args.input !== undefined) return { kind: 'test-data', dir: args.input };
  const count = args.random ?? DEFAULT_RANDOM_SETS;
  if (!Number.isInteger(count) || count < 1) throw new OtocError('--random must be a positive integer');
  if (!Number.isSafeInteger(args.seed)) throw new OtocError('--seed must be an integer');
  return { kind: 'random', count, seed: args.seed, shapes: parseShapeOverrides(args.shape ?? []) };
}

function describeSource(source: InputSource, model: Model): VerifyResult['inputs'] {
  if (source.kind === 'test-data') return source;
  const symbolic = symbolicInputs(model, source.shapes);
  return { ...source, shapes: Object.fromEntries(source.shapes), ...(symbolic.length ? { symbolicInputs: symbolic } : {}) };
}

function formatResult(r: VerifyResult): string {
  const inputs =
    r.inputs.kind === 'test-data'
      ? `test data in ${r.inputs.dir}`
      : `${r.inputs.count} random input set${r.inputs.count > 1 ? 's' : ''} (seed ${r.inputs.seed})`;
  const lines = [
    `a:      ${r.a}`,
    `b:      ${r.b}`,
    `inputs: ${inputs}`,
    ...[r.inputs.kind === 'random' ? symbolicNote(r.inputs.symbolicInputs ?? []) : undefined].filter((line) => line !== undefined),
    `an output passes when max|a-b| <= atol + rtol*max|a| (atol ${r.tolerance.atol}, rtol ${r.tolerance.rtol}); integer and bool outputs must be equal`,
    '',
  ];
  if (r.outputs.length) {
    const rows = [
      ['output', 'type', 'shape', 'max|a-b|', 'max rel', 'allowed', 'result'],
      ...r.outputs.map((c) => [
        c.name,
        c.dataType,
        formatShape(c.shape),
        formatNumber(c.maxAbsDiff),
        formatNumber(c.maxRelDiff),
        c.exact ? 'exact' : formatNumber(c.allowed),
        c.pass ? 'pass' : 'FAIL',
      ]),
    ];
    const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
    lines.push(...rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()), '');
  }
  lines.push(r.equivalent ? 'equivalent' : `not equivalent: ${r.reason}`);
  return lines.join('\n');
}

function formatNumber(x: number): string {
  return x === 0 ? '0' : x.toExponential(2);
}
