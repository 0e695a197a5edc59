// The worker-thread side of an LlmRunner: owns one decoder session, its tokenizer and the KV
// caches, so the owning thread never blocks on session.run.
import { workerData } from 'node:worker_threads';
import { createModelSession, serveThread } from '@vmm/runtime';
import { readDecoderLayout } from './decoder-model.js';
import { generate, type LoadedDecoder } from './generate.js';
import { LlmTokenizer } from './llm-tokenizer.js';
import { readModelConfig } from './model-config.js';
import type { GeneratePayload, LlmThreadData, LlmThreadInfo } from './llm-thread-protocol.js';

const data = workerData as LlmThreadData;
let model: LoadedDecoder | undefined;

async function load(): Promise<LoadedDecoder> {
  const config = readModelConfig(data.dir);
  const tokenizer = LlmTokenizer.load(data.dir);
  const session = await createModelSession(`${data.dir}/${data.file}`, data.session);
  return { session, config, tokenizer, layout: readDecoderLayout(session, config) };
}

const loaded = load().then((value) => (model = value));
// A load failure is reported by the first call, which awaits `loaded`.
loaded.catch(() => undefined);

serveThread({
  async info(): Promise<LlmThreadInfo> {
    const { session, layout, config, tokenizer } = await loaded;
    return {
      providers: [...session.providers],
      layers: layout.layers,
      kvHeads: layout.kvHeads,
      headDim: layout.headDim,
      kvType: layout.kvType,
      contextLength: config.maxPositions,
      chatTemplate: tokenizer.chatTemplate,
    };
  },
  generate(payload, { signal }) {
    const { request, startedAt, loadNs } = payload as GeneratePayload;
    return (async function* () {
      const ready = model ?? (await loaded);
      // performance.now() differs per thread; the owner sent its elapsed time instead.
      yield* generate(ready, request, { signal, startedAt: performance.now() - startedAt, loadNs });
    })();
  },
  async release() {
    await (await loaded).session.release();
  },
});
