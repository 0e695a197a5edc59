import type { SessionOptions } from '@vmm/runtime';
import type { EmbeddingSpec } from './embedding-spec.js';

// What an EmbeddingRunner and its thread (embedding-thread.ts) exchange.
export interface EmbeddingThreadData {
  dir: string;
  file: string;
  session: SessionOptions;
  /** Most inputs per session.run. */
  maxBatch: number;
}

export interface EmbeddingThreadInfo {
  providers: string[];
  spec: EmbeddingSpec;
  /** Width of the vectors. */
  dimensions: number;
}

/** One input: a text, or token ids the client tokenized itself. */
export type EmbedInput = string | number[];

export interface EmbedOptions {
  /** Cut inputs longer than the model takes (default true); false refuses them. */
  truncate?: boolean;
  /** Keep the first n components, then renormalise (Matryoshka models). */
  dimensions?: number;
  /** A lower token limit than the model's (Ollama's num_ctx). */
  maxTokens?: number;
}

export interface EmbedPayload {
  inputs: EmbedInput[];
  options: EmbedOptions;
}

export interface EmbedResult {
  embeddings: Float32Array[];
  /** Tokens over all inputs, after truncation. */
  promptTokens: number;
}
