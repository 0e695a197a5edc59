import { AutoModelForCausalLM, AutoTokenizer, env, TextStreamer } from '@huggingface/transformers';
import { basename, dirname } from 'node:path';
import type { RunResult } from './run-result.js';

/** Records when each step's tokens arrive: transformers.js calls put() with the prompt first. */
class TimingStreamer extends TextStreamer {
  readonly times: number[] = [];
  override put(): void {
    this.times.push(performance.now());
  }
  override end(): void {}
}

/** transformers.js generating from the same folder, greedy, with the same thread count. */
export async function openTransformersJs(dir: string, threads: number) {
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  env.useFSCache = false;
  const name = basename(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForCausalLM.from_pretrained(name, {
    local_files_only: true,
    dtype: 'fp32',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  return {
    async run(prompt: string, tokens: number): Promise<RunResult> {
      const streamer = new TimingStreamer(tokenizer);
      const started = performance.now();
      const inputs = tokenizer(prompt);
      const output = (await model.generate({
        ...inputs,
        max_new_tokens: tokens,
        do_sample: false,
        streamer,
      })) as { dims: number[] };
      const totalMs = performance.now() - started;
      const promptTokens = tokenizer.encode(prompt).length;
      const generated = (output.dims[1] ?? promptTokens) - promptTokens;
      // times[0] is the prompt; times[1] the first generated token.
      return {
        promptTokens,
        generatedTokens: generated,
        ttftMs: (streamer.times[1] ?? totalMs) - started,
        totalMs,
      };
    },
    async close() {
      await model.dispose();
    },
  };
}
