// The thread that hosts llama.cpp for a LlamaCppPeer. A thread of its own, not the caller's:
// node-llama-cpp checks `instanceof Array` on arrays its native addon returns, which fails
// inside jest's module sandbox (another realm), and a decode step must not block the caller.
import { parentPort, workerData } from 'node:worker_threads';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import type { LlamaCppOptions, LlamaCppStream, PeerRequest, PeerResponse } from './llama-cpp-peer.js';

const options = workerData as LlamaCppOptions;

async function load() {
  // build: 'never' and skipDownload: the prebuilt CPU binary from npm, or a clear failure.
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: options.contextSize,
    batchSize: Math.min(options.contextSize, 2048),
    sequences: options.sequences ?? 1,
    threads: options.threads,
    flashAttention: false,
    ...(options.exactKvCache
      ? { experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' }
      : {}),
  });
  const sequences = Array.from({ length: options.sequences ?? 1 }, () => context.getSequence());
  return { llama, model, context, sequences };
}

const loaded = load();
loaded.catch(() => undefined);

const handlers: Record<string, (payload: unknown) => Promise<unknown>> = {
  async ready() {
    await loaded;
    return null;
  },
  async tokenize(payload) {
    const { model } = await loaded;
    return [...model.tokenize(payload as string)];
  },
  async generate(payload) {
    const { prompts, tokens } = payload as { prompts: number[][]; tokens: number };
    const { sequences } = await loaded;
    if (prompts.length > sequences.length) {
      throw new RangeError(`${prompts.length} prompts for a context of ${sequences.length} sequences`);
    }
    await Promise.all(prompts.map((_, i) => sequences[i]?.clearHistory()));
    const started = performance.now();
    // Every sequence evaluates at once: node-llama-cpp puts the steps of all sequences of a
    // context into one llama_decode batch.
    return Promise.all(
      prompts.map(async (prompt, i): Promise<LlamaCppStream> => {
        const stream: LlamaCppStream = { tokens: [], firstTokenMs: 0, endMs: 0 };
        const sequence = sequences[i];
        if (!sequence || tokens <= 0) return stream;
        for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
          stream.endMs = performance.now() - started;
          if (stream.tokens.length === 0) stream.firstTokenMs = stream.endMs;
          stream.tokens.push(token);
          if (stream.tokens.length >= tokens) break;
        }
        return stream;
      }),
    );
  },
  async nextLogProbs(payload) {
    const { model, sequences } = await loaded;
    const sequence = sequences[0];
    if (!sequence) throw new Error('no sequence');
    await sequence.clearHistory();
    const out = new Float64Array(model.fileInfo.metadata.tokenizer.ggml.tokens.length).fill(
      Number.NEGATIVE_INFINITY,
    );
    for await (const step of sequence.evaluateWithMetadata(
      payload as Token[],
      { probabilities: true },
      { temperature: 0 },
    )) {
      for (const [token, probability] of step.probabilities) out[token] = Math.log(probability);
      break;
    }
    return out;
  },
  async close() {
    const { llama, model, context } = await loaded;
    await context.dispose();
    await model.dispose();
    await llama.dispose();
    return null;
  },
};

// One answer per request, in any order; errors travel as their message.
parentPort?.on('message', ({ id, method, payload }: PeerRequest) => {
  const handler = handlers[method];
  const answer = handler ? handler(payload) : Promise.reject(new Error(`no method ${method}`));
  answer.then(
    (value) => parentPort?.postMessage({ id, value } satisfies PeerResponse),
    (error: unknown) =>
      parentPort?.postMessage({
        id,
        error: error instanceof Error ? error.message : String(error),
      } satisfies PeerResponse),
  );
});
