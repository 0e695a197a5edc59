import { median } from '../stats.js';

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

/** Prints one implementation's line and returns the medians of its runs. */
export function summarise(label: string, results: RunResult[]): RunResult {
  const result = {
    promptTokens: 0,
    generatedTokens: Math.min(...results.map((r) => r.generatedTokens)),
    ttftMs: median(results.map((r) => r.ttftMs)),
    totalMs: median(results.map((r) => r.totalMs)),
  };
  console.log(
    `${label.padEnd(26)} decode ${decodeTokensPerSecond(result).toFixed(1).padStart(7)} tok/s  ttft ${result.ttftMs.toFixed(1).padStart(7)} ms  (${result.generatedTokens} tokens, median of ${results.length})`,
  );
  return result;
}

/** Times a stream of generated chunks from now: first token, tokens, end. */
export async function timeTokenStream(
  stream: AsyncIterable<{ tokenIds: readonly number[] }>,
): Promise<RunResult> {
  const started = performance.now();
  let first = 0;
  let generated = 0;
  for await (const chunk of stream) {
    if (chunk.tokenIds.length > 0) {
      if (first === 0) first = performance.now();
      generated += chunk.tokenIds.length;
    }
  }
  return {
    promptTokens: 0,
    generatedTokens: generated,
    ttftMs: first - started,
    totalMs: performance.now() - started,
  };
}
