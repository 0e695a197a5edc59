import type { SamplingOptions } from './sampling/sampling-options.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** A completion: the prompt goes through the chat template unless `raw`. */
export interface GenerateRequest {
  prompt: string;
  system?: string;
  raw?: boolean;
  options?: SamplingOptions;
}

export interface ChatRequest {
  messages: ChatMessage[];
  options?: SamplingOptions;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** Durations in nanoseconds, as Ollama reports them. */
export interface GenerationTimings {
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
  totalNs: number;
}

export interface GenerationDone {
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  timings: GenerationTimings;
  /** The stop sequence that ended generation, if one did. */
  stopSequence?: string;
}

/**
 * One step of a stream: new text and the token ids it came from. `text` is empty while a
 * character is incomplete or a stop sequence may be forming; the last chunk carries `done`.
 */
export interface GenerationChunk {
  text: string;
  tokenIds: number[];
  done?: GenerationDone;
}
