import type { ChatRequest, GenerateRequest } from '@vmm/proto';

/** A text generation as the workers take it: a completion or a chat. */
export type TextJob = { kind: 'generate'; request: GenerateRequest } | { kind: 'chat'; request: ChatRequest };
