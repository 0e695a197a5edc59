import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench/bench-command.js';
import { classifyCommand } from './commands/classify-command.js';
import { detectCommand, poseCommand, segmentCommand } from './commands/detection-commands.js';
import { embedCommand } from './commands/embed-command.js';
import { listCommand } from './commands/list-command.js';
import { psCommand } from './commands/ps-command.js';
import { pullCommand } from './commands/pull-command.js';
import { runCommand } from './commands/run-command.js';
import { showCommand } from './commands/show-command.js';
import { stopCommand } from './commands/stop-command.js';
import { removeBackgroundCommand } from './commands/remove-background-command.js';
import { rmCommand } from './commands/rm-command.js';
import { cpCommand } from './commands/cp-command.js';
import { serveCommand } from './serve/serve-command.js';
import type { CliContext } from './cli-context.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';

export const CLI_VERSION = '0.1.0';

/** The `vmm` program: one subcommand per file, each given the same context. */
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
  for (const command of [
    serveCommand,
    runCommand,
    listCommand,
    psCommand,
    showCommand,
    stopCommand,
    pullCommand,
    cpCommand,
    rmCommand,
    detectCommand,
    segmentCommand,
    poseCommand,
    removeBackgroundCommand,
    classifyCommand,
    embedCommand,
    benchCommand,
  ])
    program.addCommand(command(context));
  program.addHelpText(
    'after',
    `\nThe server: VMM_HOST (default http://127.0.0.1:8080), API key: VMM_API_KEY.\nExit codes: 0 done, 1 the server said no, 2 bad usage or no server at the address.`,
  );
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
