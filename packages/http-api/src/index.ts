export type { TextJob } from './text-job.js';
export { parseBody, parseLenientBody, unsupportedField, UNSUPPORTED_PARAMETER } from './validation.js';
export {
  logprobEntries,
  openaiToolCalls,
  ollamaToolCalls,
  MAX_TOOLS,
  MAX_TOP_LOGPROBS,
} from './text-fields.js';
export {
  ollamaEmbedSchema,
  ollamaLegacyEmbedSchema,
  openaiEmbedSchema,
  ollamaEmbedRequest,
  ollamaLegacyEmbedRequest,
  openaiEmbedRequest,
  ollamaEmbedResponse,
  ollamaLegacyEmbedResponse,
  openaiEmbedResponse,
  embedInputBytes,
  checkEmbedSize,
  MAX_EMBED_INPUTS,
  type OllamaEmbedBody,
  type OllamaLegacyEmbedBody,
  type OpenAiEmbedBody,
} from './embed.js';
export { backendField, keepAliveField, keepAliveMs, stopList, type BackendName } from './common.js';
export {
  ollamaOptionsSchema,
  ollamaGenerateSchema,
  ollamaChatSchema,
  ollamaSampling,
  ollamaTextJob,
  ollamaPiece,
  ollamaFinalStats,
  ollamaResponse,
  ollamaDetails,
  ollamaTag,
  taskName,
  TASK_NAMES,
  type OllamaGenerateBody,
  type OllamaChatBody,
} from './ollama.js';
export {
  openaiChatSchema,
  openaiCompletionSchema,
  openaiTextJob,
  openaiFinishReason,
  openaiUsage,
  openaiCompletionResponse,
  openaiChatLogprobs,
  openaiCompletionLogprobs,
  type OpenAiChatBody,
  type OpenAiCompletionBody,
} from './openai.js';
export {
  detectSchema,
  classifySchema,
  decodeBase64Image,
  detectRequest,
  classifyRequest,
  detectResponse,
  classifyResponse,
  segmentSchema,
  poseSchema,
  segmentRequest,
  poseRequest,
  segmentResponse,
  poseResponse,
  removeBackgroundSchema,
  removeBackgroundRequest,
  removeBackgroundResponse,
  type RemoveBackgroundBody,
  type DetectBody,
  type ClassifyBody,
  type SegmentBody,
  type PoseBody,
} from './vision.js';
export { errorResponse, shapeForPath, type ErrorShape } from './error-response.js';
export { float32, fromText, safeInt, uint32, FLOAT32_MAX, UINT32_MAX } from './proto-range.js';
export {
  checkPromptSize,
  DEFAULT_MAX_PROMPT_BYTES,
  MAX_MESSAGES,
  MAX_STOP_LENGTH,
  MAX_STOP_SEQUENCES,
} from './text-limits.js';
export {
  responsesSchema,
  responsesToChat,
  responseObject,
  messageOutput,
  functionCallOutput,
  responseCalls,
  type ResponsesBody,
} from './responses.js';
export { toolSchema, responseFormatSchema } from './text-fields.js';
