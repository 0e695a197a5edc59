/** One timed generation, measured the same way for every implementation. */
export interface RunResult {
  promptTokens: number;
  generatedTokens: number;
  /** From the call to the first generated token. */
  ttftMs: number;
  /** From the call to the last token. */
  totalMs: number;
}

export const prefillTokensPerSecond = (run: RunResult) => run.promptTokens / (run.ttftMs / 1000);
export const decodeTokensPerSecond = (run: RunResult) =>
  (run.generatedTokens - 1) / ((run.totalMs - run.ttftMs) / 1000);
