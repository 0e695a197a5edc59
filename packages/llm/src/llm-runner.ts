import { ErrorCode, VmmError } from '@vmm/errors';
import { type SessionOptions, ThreadHost, threadEntry, type ThreadWatch } from '@vmm/runtime';
import type { SchedulerStats } from './engine/scheduler.js';
import { DEFAULT_FEATURE_CACHE_BYTES } from './vision/image-encoder.js';
import { DEFAULT_IMAGE_LIMITS } from './vision/prepare-images.js';
import type {
  BatchingOptions,
  ImageOptions,
  GeneratePayload,
  LlmThreadData,
  LlmThreadInfo,
  ThreadHeap,
} from './llm-thread-protocol.js';
import type { ChatRequest, GenerateRequest, GenerationChunk } from './types.js';

export interface LlmRunnerOptions {
  /** The model folder. */
  dir: string;
  /** The ONNX file to run, relative to `dir` (e.g. "onnx/model.onnx"). */
  file: string;
  session: SessionOptions;
  /** Continuous batching; each field defaults to DEFAULT_BATCHING's. */
  batching?: Partial<BatchingOptions>;
  /** A vision-language model's image limits and feature cache; each defaults to DEFAULT_IMAGES'. */
  images?: Partial<ImageOptions>;
}

export const DEFAULT_IMAGES: Readonly<ImageOptions> = {
  ...DEFAULT_IMAGE_LIMITS,
  featureCacheBytes: DEFAULT_FEATURE_CACHE_BYTES,
};

export const DEFAULT_BATCHING: Readonly<BatchingOptions> = {
  maxBatch: 8,
  kvBudgetBytes: 1024 * 2 ** 20,
  // The scheduler sizes chunks to about 1.5 decode steps, up to this.
  prefillChunk: 256,
  prefillChunkAlone: 512,
  maxWaiting: 64,
  prefixReuse: true,
};

export interface RunOptions {
  signal?: AbortSignal;
  /** When the request arrived (performance.now() ms); defaults to the call. */
  startedAt?: number;
  /** Time this request spent waiting for the model to load. */
  loadNs?: number;
}

/**
 * A text-generation model running in its own worker thread. Generation streams chunks; an
 * aborted signal ends the stream with finish reason "cancelled" within one decode step, and
 * no token chunk follows the abort.
 */
export class LlmRunner {
  private closed = false;

  private constructor(
    private readonly host: ThreadHost,
    readonly info: LlmThreadInfo,
    readonly loadNs: number,
  ) {}

  static async open(options: LlmRunnerOptions): Promise<LlmRunner> {
    const started = performance.now();
    const data: LlmThreadData = {
      dir: options.dir,
      file: options.file,
      session: options.session,
      batching: { ...DEFAULT_BATCHING, ...options.batching },
      images: { ...DEFAULT_IMAGES, ...options.images },
    };
    const host = await ThreadHost.start(threadEntry(import.meta.url, './llm-thread.js'), data, {
      heapMb: options.session.threadHeapMb,
    });
    try {
      const info = await host.request<LlmThreadInfo>('info', null);
      return new LlmRunner(host, info, Math.round((performance.now() - started) * 1e6));
    } catch (error) {
      await host.close();
      throw error;
    }
  }

  generate(request: GenerateRequest, options: RunOptions = {}): AsyncGenerator<GenerationChunk> {
    return this.run(request, options);
  }

  chat(request: ChatRequest, options: RunOptions = {}): AsyncGenerator<GenerationChunk> {
    return this.run(request, options);
  }

  /** Running and waiting sequences, batch size, KV-cache use and prefix-cache hits, now. */
  stats(): Promise<SchedulerStats> {
    return this.host.request<SchedulerStats>('stats', null);
  }

  /** The model thread's V8 heap, collected first when node runs with `--expose-gc`. */
  threadHeap(): Promise<ThreadHeap> {
    return this.host.request<ThreadHeap>('heap', null);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.request('release', null).catch(() => undefined);
    await this.host.close();
  }

  /** Calls `listener` if the model's thread dies on its own (see ThreadHost.onExit). */
  onExit(listener: (error: VmmError) => void): void {
    this.host.onExit(listener);
  }

  /** Watches the model's thread: a stuck one is ended, a run that never returns reported (ThreadHost.watch). */
  watch(options: ThreadWatch): void {
    this.host.watch(options);
  }

  /** Ends the model's thread as a crash would: its calls fail, its owner replaces it. */
  kill(): Promise<void> {
    return this.host.kill();
  }

  private async *run(
    request: GenerateRequest | ChatRequest,
    options: RunOptions,
  ): AsyncGenerator<GenerationChunk> {
    if (this.closed) throw new VmmError(ErrorCode.Unavailable, 'the model was unloaded');
    const signal = options.signal;
    const payload: GeneratePayload = {
      request,
      startedAt: performance.now() - (options.startedAt ?? performance.now()),
      loadNs: options.loadNs ?? 0,
    };
    for await (const chunk of this.host.stream<GenerationChunk>(
      'generate',
      payload,
      signal ? { signal } : {},
    )) {
      // Chunks already in flight when the caller aborted are dropped: only the final one follows.
      if (signal?.aborted && !chunk.done) continue;
      yield chunk;
    }
  }
}
