// The worker-thread side of an LlmRunner: owns one decoder session, its tokenizer, the KV store
// and the batch scheduler, so the owning thread never blocks on session.run.
import { getHeapStatistics } from 'node:v8';
import { workerData } from 'node:worker_threads';
import { serveThread } from '@vmm/runtime';
import { BatchDecoder } from './engine/batch-decoder.js';
import { Scheduler } from './engine/scheduler.js';
import { LlmTokenizer } from './llm-tokenizer.js';
import type { GeneratePayload, LlmThreadData, LlmThreadInfo, ThreadHeap } from './llm-thread-protocol.js';
import { join } from 'node:path';
import { visionCompanions } from '@vmm/runtime';
import { ErrorCode, VmmError } from '@vmm/errors';
import { readModelConfig } from './model-config.js';
import { ImageEncoder } from './vision/image-encoder.js';
import { prepareWithImages, type VisionModel } from './vision/prepare-images.js';
import { readVisionLanguageSpec } from './vision/vision-language-spec.js';

const data = workerData as LlmThreadData;

interface Loaded extends VisionModel {
  decoder: BatchDecoder;
  scheduler: Scheduler;
}

async function load(): Promise<Loaded> {
  const config = readModelConfig(data.dir);
  const tokenizer = LlmTokenizer.load(data.dir);
  // A vision-language model: its vision encoder and token embedding beside the decoder.
  const vision = readVisionLanguageSpec(data.dir);
  const companions = vision ? visionCompanions(data.dir, data.file) : undefined;
  const decoder = await BatchDecoder.open(data.dir, data.file, data.session, config, companions?.embed);
  let encoder: ImageEncoder | undefined;
  try {
    if (companions) {
      const hidden = decoder.layout.embeds?.hiddenSize;
      if (hidden === undefined)
        throw new VmmError(
          ErrorCode.FailedPrecondition,
          `${data.file} takes input_ids: a vision-language decoder takes inputs_embeds`,
        );
      encoder = await ImageEncoder.open(
        join(data.dir, companions.encoder),
        // It runs in bursts beside the decoder: its threads give the cores back between runs.
        { ...data.session, spinning: false },
        hidden,
        data.images.featureCacheBytes,
      );
    }
  } catch (error) {
    await decoder.release();
    throw error;
  }
  const scheduler = new Scheduler(decoder, { ...data.batching, contextLength: config.maxPositions });
  return {
    config,
    tokenizer,
    decoder,
    scheduler,
    ...(vision && encoder ? { vision, encoder } : {}),
  };
}

const loaded = load();
// A load failure is reported by the first call, which awaits `loaded`.
loaded.catch(() => undefined);

serveThread({
  async info(): Promise<LlmThreadInfo> {
    const { decoder, config, tokenizer } = await loaded;
    const { layout, plan } = decoder;
    return {
      providers: [...decoder.session.providers],
      layers: layout.layers,
      kvHeads: layout.kvHeads,
      headDim: layout.headDim,
      kvType: layout.kvType,
      attention: plan.attention,
      kvRowsOnly: plan.rows !== undefined,
      kvPath: plan.path,
      contextLength: config.maxPositions,
      chatTemplate: tokenizer.chatTemplate,
      takesImages: (await loaded).encoder !== undefined,
    };
  },
  async stats() {
    return (await loaded).scheduler.stats();
  },
  heap(): Promise<ThreadHeap> {
    // gc exists only under --expose-gc (benchmarks): a reading of settled memory, not a tuning knob.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const stats = getHeapStatistics();
    return Promise.resolve({
      usedBytes: stats.used_heap_size,
      totalBytes: stats.total_heap_size,
      collected: gc !== undefined,
    });
  },
  generate(payload, { signal }) {
    const { request, startedAt, loadNs } = payload as GeneratePayload;
    // performance.now() differs per thread; the owner sent its elapsed time instead.
    const arrivedAt = performance.now() - startedAt;
    return (async function* () {
      const model = await loaded;
      const prepared = await prepareWithImages(model, request, data.images, signal);
      yield* model.scheduler.submit(prepared, { signal, startedAt: arrivedAt, loadNs });
    })();
  },
  async release() {
    const model = await loaded;
    await model.decoder.release();
    await model.encoder?.release();
  },
});
