/** Exit codes of every vmm command. */
export const ExitCode = {
  Ok: 0,
  /** The server answered and said no (unknown model, 4xx/5xx on every try). */
  ServerRefused: 1,
  /** The command cannot run as asked: bad arguments, or no server answers at the address. */
  Usage: 2,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The one error a command throws to stop: printed as one line, exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
