import { ErrorCode, VmmError } from '@vmm/errors';
import { type SessionOptions, ThreadHost, threadEntry, type ThreadWatch } from '@vmm/runtime';
import type { EmbeddingSpec } from './embedding-spec.js';
import type {
  EmbeddingThreadData,
  EmbeddingThreadInfo,
  EmbedInput,
  EmbedOptions,
  EmbedPayload,
  EmbedResult,
} from './embedding-thread-protocol.js';

export interface EmbeddingRunnerOptions {
  dir: string;
  /** The ONNX file, relative to `dir`. */
  file: string;
  session: SessionOptions;
  /** Most inputs per session.run; default 32. */
  maxBatch?: number;
}

/** The most inputs one request may hold (OpenAI's limit for /v1/embeddings). */
export const MAX_EMBED_INPUTS = 2048;

/**
 * An embedding model in its own worker thread: inputs are tokenized, grouped by length into
 * batches, run, pooled as the folder's sentence-transformers config says and normalised.
 */
export class EmbeddingRunner {
  private closed = false;

  private constructor(
    private readonly host: ThreadHost,
    readonly info: EmbeddingThreadInfo,
    readonly loadNs: number,
  ) {}

  static async open(options: EmbeddingRunnerOptions): Promise<EmbeddingRunner> {
    const started = performance.now();
    const maxBatch = options.maxBatch ?? 32;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError('maxBatch must be a positive integer');
    const data: EmbeddingThreadData = {
      dir: options.dir,
      file: options.file,
      session: options.session,
      maxBatch,
    };
    const host = await ThreadHost.start(threadEntry(import.meta.url, './embedding-thread.js'), data, {
      heapMb: options.session.threadHeapMb,
    });
    try {
      const info = await host.request<EmbeddingThreadInfo>('info', null);
      return new EmbeddingRunner(host, info, Math.round((performance.now() - started) * 1e6));
    } catch (error) {
      await host.close();
      throw error;
    }
  }

  get spec(): EmbeddingSpec {
    return this.info.spec;
  }

  get providers(): readonly string[] {
    return this.info.providers;
  }

  /** One vector per input, in order. Refuses bad input before any compute. */
  embed(
    inputs: EmbedInput[],
    options: EmbedOptions = {},
    call: { signal?: AbortSignal } = {},
  ): Promise<EmbedResult> {
    if (this.closed) return Promise.reject(new VmmError(ErrorCode.Unavailable, 'the model was unloaded'));
    if (inputs.length > MAX_EMBED_INPUTS) {
      return Promise.reject(
        new VmmError(ErrorCode.InvalidArgument, `input may hold at most ${MAX_EMBED_INPUTS} items`, {
          field: 'input',
        }),
      );
    }
    const width = this.info.dimensions;
    if (
      options.dimensions !== undefined &&
      (options.dimensions < 1 || (width > 0 && options.dimensions > width))
    ) {
      return Promise.reject(
        new VmmError(ErrorCode.InvalidArgument, `dimensions must be in [1, ${width}] for this model`, {
          field: 'dimensions',
        }),
      );
    }
    const payload: EmbedPayload = { inputs, options };
    return this.host.request<EmbedResult>('embed', payload, call.signal ? { signal: call.signal } : {});
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
}
