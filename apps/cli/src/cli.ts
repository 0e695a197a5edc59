import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench/bench-command.js';
import type { CliContext } from './cli-context.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';

export const CLI_VERSION = '0.1.0';

/**
 * The `vmm` program: one subcommand per file, each given the same context. Later commands
 * (run, pull, list, ps, show, rm, detect, classify, embed) are added here the same way.
 */
export function createCli(context: CliContext): Command {
  const program = new Command('vmm')
    .description('VMM: one API for LLMs and vision models on CPU, CUDA and OpenVINO.')
    .version(CLI_VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      // Errors are printed once, by runCli, as one line.
      outputError: () => undefined,
    });
  program.addCommand(benchCommand(context));
  // addCommand does not pass settings down: each subcommand gets the same output and exits.
  for (const command of program.commands) command.copyInheritedSettings(program);
  return program;
}

/** Runs `argv` (without node and the script) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<ExitCodeValue> {
  const program = createCli(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      if (error.exitCode === 0) return ExitCode.Ok;
      context.stderr.write(`vmm: ${error.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return ExitCode.Usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    context.stderr.write(`vmm: ${message.split('\n')[0]}\n`);
    return error instanceof CliError ? error.exitCode : ExitCode.ServerRefused;
  }
}
