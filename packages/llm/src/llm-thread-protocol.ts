import type { SessionOptions } from '@vmm/runtime';
import type { ChatRequest, GenerateRequest } from './types.js';
import type { ImageLimits } from './vision/prepare-images.js';

// What an LlmRunner and its thread (llm-thread.ts) exchange.
export interface LlmThreadData {
  dir: string;
  /** The ONNX file, relative to `dir`. */
  file: string;
  session: SessionOptions;
  batching: BatchingOptions;
  images: ImageOptions;
}

/** A vision-language model's bounds on images, and the bytes of encoded images it keeps. */
export interface ImageOptions extends ImageLimits {
  featureCacheBytes: number;
}

/** How a model's scheduler batches sequences (see Scheduler). */
export interface BatchingOptions {
  /** Sequences decoded together in one forward pass (Ollama's OLLAMA_NUM_PARALLEL). */
  maxBatch: number;
  /** The KV cache may never take more than this; admission is by worst case. */
  kvBudgetBytes: number;
  /** The most prompt tokens per prefill pass while other sequences are decoding. */
  prefillChunk: number;
  /** Prompt tokens per prefill pass when nothing else runs. */
  prefillChunkAlone: number;
  /** Requests waiting for room beyond the batch; more are refused. */
  maxWaiting: number;
  /** Keep finished sequences' caches for requests that start the same way. */
  prefixReuse: boolean;
}

export interface LlmThreadInfo {
  providers: string[];
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: string;
  /** `gqa`: GroupQueryAttention reads each sequence's cache up to its length; `eager`: plain ops. */
  attention: 'gqa' | 'eager';
  /** Whether a step returns only the new KV rows (the graph was rewritten at load). */
  kvRowsOnly: boolean;
  /**
   * How a step gets its new KV rows (KvPlan's path): shared-buffer (written in place through
   * ONNX Runtime's I/O binding), new-rows, unfused-rotary or presents.
   */
  kvPath: 'shared-buffer' | 'new-rows' | 'unfused-rotary' | 'presents';
  contextLength: number;
  chatTemplate: string | undefined;
  /** A vision-language model: chat messages and prompts may carry images. */
  takesImages: boolean;
}

/** The V8 heap of a model's thread (v8.getHeapStatistics there). */
export interface ThreadHeap {
  /** Bytes of live objects (after a full collection when `collected`). */
  usedBytes: number;
  /** Bytes V8 has committed for the thread's heap: what its resident memory carries. */
  totalBytes: number;
  /** Whether a full collection ran first (only when node runs with `--expose-gc`). */
  collected: boolean;
}

export interface GeneratePayload {
  request: GenerateRequest | ChatRequest;
  startedAt: number;
  loadNs: number;
}
