import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OtocError, escapeControl } from '../errors.js';
import { compressCommand } from './compress.js';
import { groupsCommand } from './groups.js';
import { inspectCommand } from './inspect.js';
import { oneLinerCommand } from './one-liner.js';
import { pruneCommand } from './prune.js';
import { trainCommand } from './train.js';
import { verifyCommand } from './verify.js';
import { zooCommand } from './zoo.js';

const HELP_EPILOGUE = `otoc makes ONNX models smaller by structured pruning and proves the result equivalent.
Errors in the input are reported as one line and exit code 2; --debug shows stack traces.`;

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    await yargs(argv)
      .scriptName('otoc')
      .command(oneLinerCommand)
      .command(compressCommand)
      .command(inspectCommand)
      .command(groupsCommand)
      .command(pruneCommand)
      .command(trainCommand)
      .command(verifyCommand)
      .command(zooCommand)
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
