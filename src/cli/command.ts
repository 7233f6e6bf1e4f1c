import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

/** What a command's module provides: how it parses its options, and what it does. */
export interface CommandBody<A> {
  builder(y: Argv<object>): Argv<A>;
  handler(args: ArgumentsCamelCase<A>): void | Promise<void>;
}

/**
 * A command whose module is imported only when the command runs or shows its --help, so that
 * a command pays only for what it uses: the training commands load tfjs, the others do not.
 */
export function lazyCommand<A>(command: string, describe: string, load: () => Promise<CommandBody<A>>): CommandModule {
  return {
    command,
    describe,
    builder: async (y) => (await load()).builder(y),
    // yargs hands the handler what this command's builder declared.
    handler: async (args) => (await load()).handler(args as ArgumentsCamelCase<A>),
  };
}
