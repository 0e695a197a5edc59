import type { CliConfig } from './config.js';

/** What commands may touch: injected so that a test can run a command in-process. */
export interface CliContext {
  config: Readonly<CliConfig>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stderrIsTty: boolean;
  fetch: typeof fetch;
  startedAt: Date;
}
