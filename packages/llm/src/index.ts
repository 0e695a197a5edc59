export {
  LlmRunner,
  DEFAULT_BATCHING,
  DEFAULT_IMAGES,
  type LlmRunnerOptions,
  type RunOptions,
} from './llm-runner.js';
export type { BatchingOptions, ImageOptions } from './llm-thread-protocol.js';
export type { SchedulerStats } from './engine/scheduler.js';
export type { LlmThreadInfo, ThreadHeap } from './llm-thread-protocol.js';
export {
  type ChatMessage,
  type ChatRequest,
  type GenerateRequest,
  type MessageImage,
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
export {
  ChatTemplate,
  checkChatTemplate,
  DEFAULT_TEMPLATE_BUDGET,
  type TemplateBudget,
} from './chat-template.js';
export { readModelConfig, type ModelConfig } from './model-config.js';
// Constrained decoding's parts, for benchmarks and tools that check schemas ahead of time.
export { compileSchema, type SchemaNode } from './constrain/json-schema.js';
export { JsonConstraint } from './constrain/json-constraint.js';
export { TokenTrie } from './constrain/token-trie.js';
export { tokenBytesTable } from './constrain/token-bytes.js';
export { ThinkingSplitter, thinkingSupport, type ThinkSetting, type ThinkingSupport } from './thinking.js';
