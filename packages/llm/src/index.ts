export { LlmRunner, DEFAULT_BATCHING, type LlmRunnerOptions, type RunOptions } from './llm-runner.js';
export type { BatchingOptions } from './llm-thread-protocol.js';
export type { SchedulerStats } from './engine/scheduler.js';
export type { LlmThreadInfo } from './llm-thread-protocol.js';
export {
  type ChatMessage,
  type ChatRequest,
  type GenerateRequest,
  type GenerationChunk,
  type GenerationDone,
  type GenerationTimings,
  type FinishReason,
  type Role,
  type OutputFormat,
  type TokenLogprob,
  type TopLogprob,
  type ToolCall,
  type ToolChoice,
  type ToolSpec,
} from './types.js';
export {
  type SamplingOptions,
  DEFAULT_SAMPLING,
  validateSamplingOptions,
  MAX_STOP_SEQUENCES,
} from './sampling/sampling-options.js';
export { LlmTokenizer } from './llm-tokenizer.js';
export { readModelConfig, type ModelConfig } from './model-config.js';
