import { LlmRunner, type SamplingOptions } from '@vmm/llm';
import type { RunResult } from './run-result.js';

/** One raw-prompt generation's tokens and times (ms since `startedAt`), as a client sees them. */
export interface TimedStream {
  tokens: number[];
  promptTokens: number;
  firstTokenMs: number;
  endMs: number;
}

export async function timedStream(
  runner: LlmRunner,
  prompt: string,
  options: SamplingOptions,
  startedAt = performance.now(),
): Promise<TimedStream> {
  const stream: TimedStream = { tokens: [], promptTokens: 0, firstTokenMs: 0, endMs: 0 };
  for await (const chunk of runner.generate({ prompt, raw: true, options })) {
    if (chunk.done) stream.promptTokens = chunk.done.promptTokens;
    if (chunk.tokenIds.length === 0) continue;
    stream.endMs = performance.now() - startedAt;
    if (stream.tokens.length === 0) stream.firstTokenMs = stream.endMs;
    stream.tokens.push(...chunk.tokenIds);
  }
  return stream;
}

/** VMM's LlmRunner: session in a worker thread, KV cache, greedy. */
export async function openOurs(dir: string, threads: number) {
  const runner = await LlmRunner.open({
    dir,
    file: 'onnx/model.onnx',
    session: { backend: 'cpu', intraOpThreads: threads },
  });
  return {
    async run(prompt: string, tokens: number): Promise<RunResult> {
      const started = performance.now();
      const stream = await timedStream(runner, prompt, { temperature: 0, maxTokens: tokens }, started);
      return {
        promptTokens: stream.promptTokens,
        generatedTokens: stream.tokens.length,
        ttftMs: stream.firstTokenMs,
        totalMs: performance.now() - started,
      };
    },
    close: () => runner.close(),
  };
}
