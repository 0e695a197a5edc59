export { EmbeddingRunner, MAX_EMBED_INPUTS, type EmbeddingRunnerOptions } from './embedding-runner.js';
export { readEmbeddingSpec, type EmbeddingSpec, type Pooling } from './embedding-spec.js';
export type {
  EmbedInput,
  EmbedOptions,
  EmbedResult,
  EmbeddingThreadInfo,
} from './embedding-thread-protocol.js';
