import { LlmRunner } from '@vmm/llm';
import type { RunResult } from './run-result.js';

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
      let first = 0;
      let generated = 0;
      let promptTokens = 0;
      for await (const chunk of runner.generate({
        prompt,
        raw: true,
        options: { temperature: 0, maxTokens: tokens },
      })) {
        if (chunk.tokenIds.length > 0 && first === 0) first = performance.now();
        if (chunk.done) {
          generated = chunk.done.completionTokens;
          promptTokens = chunk.done.promptTokens;
        }
      }
      const totalMs = performance.now() - started;
      return { promptTokens, generatedTokens: generated, ttftMs: first - started, totalMs };
    },
    close: () => runner.close(),
  };
}
