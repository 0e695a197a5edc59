// llama.cpp (the engine inside Ollama) as a peer for tests and benchmarks, through
// node-llama-cpp's prebuilt CPU binaries, in a thread of its own. It never downloads or builds
// anything: if the prebuilt binary cannot load, opening fails with node-llama-cpp's message.
import { ThreadHost, threadEntry } from '@vmm/runtime';

export interface LlamaCppOptions {
  /** A GGUF file. */
  modelPath: string;
  threads: number;
  contextSize: number;
  /** Sequences (parallel streams) the context holds; one batch serves all of them. */
  sequences?: number;
  /**
   * Keep the KV cache in f32 instead of llama.cpp's default f16: cross-checks compare the
   * model's math with ours, not the cache's rounding. Benchmarks keep llama.cpp's default.
   */
  exactKvCache?: boolean;
}

export interface LlamaCppStream {
  tokens: number[];
  /** ms from the start of the run to this sequence's first generated token. */
  firstTokenMs: number;
  /** ms from the start of the run to this sequence's last generated token. */
  endMs: number;
}

export interface LlamaCppPeer {
  readonly vocabularySize: number;
  /** llama.cpp's own tokenization of `text` (no BOS added). */
  tokenize(text: string): Promise<number[]>;
  /**
   * Greedy continuations of `prompts` (token ids), one sequence each, all at once: llama.cpp
   * batches the sequences of one context into one forward pass per step. Stops at `tokens`
   * or at an end-of-generation token.
   */
  generate(prompts: number[][], tokens: number): Promise<LlamaCppStream[]>;
  /** Natural-log probabilities of every vocabulary entry as the token after `prompt`. */
  nextLogProbs(prompt: number[]): Promise<Float64Array>;
  close(): Promise<void>;
}

export async function openLlamaCpp(options: LlamaCppOptions): Promise<LlamaCppPeer> {
  const host = await ThreadHost.start(threadEntry(import.meta.url, './llama-cpp-thread.js'), options);
  try {
    const { vocabularySize } = await host.request<{ vocabularySize: number }>('info', null);
    return {
      vocabularySize,
      tokenize: (text) => host.request<number[]>('tokenize', text),
      generate: (prompts, tokens) => host.request<LlamaCppStream[]>('generate', { prompts, tokens }),
      nextLogProbs: (prompt) => host.request<Float64Array>('nextLogProbs', prompt),
      async close() {
        await host.request('close', null).catch(() => undefined);
        await host.close();
      },
    };
  } catch (error) {
    await host.close();
    throw error;
  }
}
