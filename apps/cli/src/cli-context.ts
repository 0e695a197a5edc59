import type { CliConfig } from './config.js';

/** What commands may touch: injected so that a test can run a command in-process. */
export interface CliContext {
  config: Readonly<CliConfig>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stdin is a terminal: `vmm run MODEL` is interactive only then. */
  stdinIsTty: boolean;
  /** Colours and tables for people only when stdout is a terminal. */
  stdoutIsTty: boolean;
  stderrIsTty: boolean;
  fetch: typeof fetch;
  startedAt: Date;
}
