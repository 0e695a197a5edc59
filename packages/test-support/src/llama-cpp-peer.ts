// llama.cpp (the engine inside Ollama) as a peer for tests and benchmarks, through
// node-llama-cpp's prebuilt CPU binaries, in a thread of its own. It never downloads or builds
// anything: if the prebuilt binary cannot load, opening fails with node-llama-cpp's message.
import { Worker } from 'node:worker_threads';

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

export interface PeerRequest {
  id: number;
  method: string;
  payload: unknown;
}

export type PeerResponse = { id: number; value: unknown } | { id: number; error: string };

/** The llama.cpp thread: requests by id; a thread that dies fails every pending request. */
function startThread(options: LlamaCppOptions) {
  // Consumers load this package from dist (its exports), where the thread's file sits beside it.
  const worker = new Worker(new URL('./llama-cpp-thread.js', import.meta.url), { workerData: options });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  let exited: Error | undefined;
  worker.on('message', (response: PeerResponse) => {
    const call = pending.get(response.id);
    pending.delete(response.id);
    if ('error' in response) call?.reject(new Error(`llama.cpp: ${response.error}`));
    else call?.resolve(response.value);
  });
  const fail = (error: Error) => {
    exited = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the llama.cpp thread exited (${code})`)));
  return {
    request<T>(method: string, payload: unknown): Promise<T> {
      if (exited) return Promise.reject(exited);
      const id = (next += 1);
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ id, method, payload } satisfies PeerRequest);
      });
    },
    terminate: () => worker.terminate(),
  };
}

export async function openLlamaCpp(options: LlamaCppOptions): Promise<LlamaCppPeer> {
  const thread = startThread(options);
  try {
    // Answers once the model and context are loaded, or carries the load failure.
    await thread.request('ready', null);
    return {
      tokenize: (text) => thread.request<number[]>('tokenize', text),
      generate: (prompts, tokens) => thread.request<LlamaCppStream[]>('generate', { prompts, tokens }),
      nextLogProbs: (prompt) => thread.request<Float64Array>('nextLogProbs', prompt),
      async close() {
        await thread.request('close', null).catch(() => undefined);
        await thread.terminate();
      },
    };
  } catch (error) {
    await thread.terminate();
    throw error;
  }
}
