import type { SessionOptions } from '@vmm/runtime';
import type { ChatRequest, GenerateRequest } from './types.js';

// What an LlmRunner and its thread (llm-thread.ts) exchange.
export interface LlmThreadData {
  dir: string;
  /** The ONNX file, relative to `dir`. */
  file: string;
  session: SessionOptions;
}

export interface LlmThreadInfo {
  providers: string[];
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: string;
  contextLength: number;
  chatTemplate: string | undefined;
}

export interface GeneratePayload {
  request: GenerateRequest | ChatRequest;
  startedAt: number;
  loadNs: number;
}
