/**
 * One fuzz case through the CLI's stages, in-process: the handlers of `inspect --json`,
 * `groups --json` and `prune --random-zero F -o small.onnx`, each reading the file as the CLI
 * does, then the written model read back (otoc must never write a model it refuses).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import { groupsCommand } from '../../src/cli/groups.js';
import { inspectCommand } from '../../src/cli/inspect.js';
import { loadModel } from '../../src/cli/load-model.js';
import { pruneCommand } from '../../src/cli/prune.js';
import { OtocError } from '../../src/errors.js';

export type Stage = 'inspect' | 'groups' | 'prune' | 'read back';

/** What happened to one input: every stage ran, a stage refused it as the CLI would (exit 2), or otoc failed. */
export type Outcome =
  | { kind: 'accepted' }
  | { kind: 'refused'; stage: Stage; message: string }
  | { kind: 'internal'; stage: Stage; message: string; stack?: string };

/** A refusal as the CLI prints it: naming the file, exit code 2 (main.ts escapes what the message echoes). */
function refusalProblem(e: OtocError, file: string): string | undefined {
  if (e.exitCode !== 2) return `exit code ${e.exitCode}`;
  if (e.file !== file) return e.file === undefined ? 'the message names no file' : `the message names ${e.file}`;
  return undefined;
}

function run<A>(command: CommandModule<object, A>, args: A): void {
  const handler = command.handler as (args: ArgumentsCamelCase<A>) => void;
  handler({ _: [], $0: 'otoc', ...args } as ArgumentsCamelCase<A>);
}

/** Run `bytes`, written to `dir`/model.onnx, through every stage; `randomZero` and `seed` drive prune. */
export function runStages(bytes: Uint8Array, dir: string, randomZero: number, seed: number): Outcome {
  const model = join(dir, 'model.onnx');
  const output = join(dir, 'small.onnx');
  writeFileSync(model, bytes);
  const stages: [Stage, () => void][] = [
    ['inspect', () => run(inspectCommand, { model, json: true })],
    ['groups', () => run(groupsCommand, { model, json: true })],
    ['prune', () => run(pruneCommand, { model, output, randomZero, seed, json: true })],
    ['read back', () => loadModel(output)],
  ];
  for (const [stage, action] of stages) {
    try {
      action();
    } catch (e) {
      if (e instanceof OtocError && stage !== 'read back') {
        const problem = refusalProblem(e, model);
        if (!problem) return { kind: 'refused', stage, message: e.message };
        return { kind: 'internal', stage, message: `badly reported refusal (${problem}): ${e.message}` };
      }
      const err = e as Error;
      const message = stage === 'read back' ? `otoc wrote a model it refuses: ${err?.message}` : String(err?.message ?? e);
      return { kind: 'internal', stage, message, stack: err?.stack };
    }
  }
  return { kind: 'accepted' };
}
