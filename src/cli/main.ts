import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OtocError, escapeControl } from '../errors.js';
import { lazyCommand } from './command.js';

/** The commands, in the order --help lists them; each module is imported only when its command runs. */
const COMMANDS = [
  lazyCommand(
    '$0 <model>',
    'Make a model smaller: prune its zero groups, or with --data train it with group sparsity first (compress). With sample inputs and no labels ' +
      '(--data samples/), any model whose ops the mirror trains compresses toward its own outputs: it is its own teacher',
    async () => (await import('./one-liner.js')).oneLinerCommand,
  ),
  lazyCommand(
    'compress <model>',
    'Train once with a compression method (--method, default DHSPG), prune, verify the small model against the trained one',
    async () => (await import('./compress.js')).compressCommand,
  ),
  lazyCommand(
    'inspect <model>',
    'Summarize an ONNX model: operators, parameters, multiply-accumulates, inputs and outputs',
    async () => (await import('./inspect.js')).inspectCommand,
  ),
  lazyCommand(
    'groups <model>',
    'List the zero-invariant groups (prunable channels) of a model, and why the rest are not prunable',
    async () => (await import('./groups.js')).groupsCommand,
  ),
  lazyCommand(
    'prune <model>',
    'Physically remove every zero-invariant group that is exactly zero (e.g. after group-sparse training), and the dead channels: those nothing reads any more (every slice of the next layers that reads them is zero)',
    async () => (await import('./prune.js')).pruneCommand,
  ),
  lazyCommand(
    'train <model>',
    "Train a model (same graph, trained weights and BatchNorm statistics): a classifier on labeled data, or any model toward a teacher's outputs",
    async () => (await import('./train.js')).trainCommand,
  ),
  lazyCommand(
    'verify <a> <b>',
    'Check that two ONNX models compute the same outputs on the same inputs (in onnxruntime)',
    async () => (await import('./verify.js')).verifyCommand,
  ),
  lazyCommand(
    'zoo <name>',
    'Emit a built-in architecture as an untrained ONNX model (`otoc zoo list` lists them)',
    async () => (await import('./zoo.js')).zooCommand,
  ),
];

const HELP_EPILOGUE = `otoc makes ONNX models smaller by structured pruning and proves the result equivalent.
Errors in the input are reported as one line and exit code 2; --debug shows stack traces.`;

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    await yargs(argv)
      .scriptName('otoc')
      .command(COMMANDS)
      .option('debug', { type: 'boolean', describe: 'Show stack traces for errors', global: true })
      .strict()
      .epilogue(HELP_EPILOGUE)
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((msg, err) => {
        // yargs writes some messages on several lines ("Invalid values:\n  Argument: …"): one line here.
        throw err ?? new OtocError(msg.replace(/:?\s*\n\s*/g, ': '));
      })
      .parseAsync();
  } catch (e) {
    process.exitCode = report(e, debug);
  }
}

/** Print an error as one line (a stack trace only with --debug) and return the exit code. */
function report(e: unknown, debug: boolean): number {
  if (e instanceof OtocError) {
    console.error(`otoc: ${e.file ? `${escapeControl(e.file)}: ` : ''}${escapeControl(e.message)}`);
    if (debug) console.error(e.stack);
    return e.exitCode;
  }
  const err = e as Error;
  console.error(`otoc: internal error: ${escapeControl(err?.message ?? String(e))}${debug ? '' : ' (run with --debug for details)'}`);
  if (debug) console.error(err?.stack);
  return 70;
}

await main(hideBin(process.argv));
