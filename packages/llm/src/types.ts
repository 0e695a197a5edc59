import type { ThinkSetting } from './thinking.js';
import type { SamplingOptions } from './sampling/sampling-options.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A call the model made; `arguments` is JSON text of an object. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A picture in a message: its encoded bytes (JPEG, PNG or WebP) and where it sits in `content`,
 * as a character offset (0 or none: before the text, where Ollama puts a message's `images`).
 */
export interface MessageImage {
  data: Uint8Array;
  at?: number;
}

export interface ChatMessage {
  role: Role;
  content: string;
  /** For a model that reads images (a vision-language model). */
  images?: MessageImage[];
  /** An assistant turn's calls. */
  toolCalls?: ToolCall[];
  /** A tool turn: the call it answers, and the function's name. */
  toolCallId?: string;
  name?: string;
}

/** A function the model may call; `parameters` is its arguments' JSON Schema, as JSON text. */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters?: string;
}

/** `required` and a named function are enforced by constrained decoding. */
export type ToolChoice = 'auto' | 'none' | 'required' | { function: string };

/** Any JSON object, or JSON valid against a schema (JSON text). */
export type OutputFormat = { type: 'json' } | { type: 'json_schema'; schema: string };

/** A completion: the prompt goes through the chat template unless `raw`. */
export interface GenerateRequest {
  prompt: string;
  system?: string;
  raw?: boolean;
  options?: SamplingOptions;
  format?: OutputFormat;
  /** Ollama's `context`: token ids of an earlier exchange that the prompt continues. */
  context?: number[];
  /** Pictures for a vision-language model, placed before the prompt (a raw prompt places each at its model's image token). */
  images?: Uint8Array[];
}

export interface ChatRequest {
  messages: ChatMessage[];
  options?: SamplingOptions;
  format?: OutputFormat;
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  /**
   * Thinking on or off (or a level) through the template's own switch; undefined: the model's
   * default. Only for models that think (400 otherwise).
   */
  think?: ThinkSetting;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'tool_calls';

export interface TopLogprob {
  tokenId: number;
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top: TopLogprob[];
}

/** Durations in nanoseconds, as Ollama reports them. */
export interface GenerationTimings {
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
  totalNs: number;
  /** Before the first prefill step (a slot, the batch's queue), the load aside. */
  queueNs: number;
}

export interface GenerationDone {
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  timings: GenerationTimings;
  /** The stop sequence that ended generation, if one did. */
  stopSequence?: string;
  /** Calls parsed from the output; their text was not streamed. */
  toolCalls?: ToolCall[];
  /** Generate: prompt and output token ids, for a later request's `context`. */
  context?: number[];
}

/**
 * One step of a stream: new text and the token ids it came from. `text` is empty while a
 * character is incomplete or a stop sequence may be forming; the last chunk carries `done`.
 */
export interface GenerationChunk {
  text: string;
  /** A thinking model's reasoning (between `<think>` and `</think>`), apart from its answer. */
  thinking?: string;
  tokenIds: number[];
  done?: GenerationDone;
  /** One per token id, when the request asked for logprobs. */
  logprobs?: TokenLogprob[];
}
