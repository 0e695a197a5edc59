import { ErrorCode, VmmError } from '@vmm/errors';
import type { EmbedInput, EmbedRequest, EmbedResponse, RequestContext } from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField } from './common.js';
import { safeInt, uint32, UINT32_MAX } from './proto-range.js';

// Embeddings as Ollama (/api/embed, the older /api/embeddings) and OpenAI (/v1/embeddings)
// take and return them.

/** Inputs per request (OpenAI's limit), and token ids per input. */
export const MAX_EMBED_INPUTS = 2048;
const MAX_INPUT_IDS = 65_536;

// Ollama takes its whole options object here; only num_ctx means anything for an encoder, so
// the gateway's lenient parse ignores (and reports) the sampling options clients send along.
const embedOptions = z.strictObject({
  // The most tokens per input: inputs are cut to it (or refused, with truncate false).
  num_ctx: uint32({ min: 1 }).optional(),
});

export const ollamaEmbedSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(MAX_EMBED_INPUTS)]),
  truncate: z.boolean().optional(),
  dimensions: uint32({ min: 1 }).optional(),
  keep_alive: keepAliveField,
  options: embedOptions.optional(),
  backend: backendField,
});

export const ollamaLegacyEmbedSchema = z.strictObject({
  model: z.string().min(1),
  prompt: z.string(),
  keep_alive: keepAliveField,
  options: embedOptions.optional(),
  backend: backendField,
});

const ids = z
  .array(safeInt({ min: 0, max: UINT32_MAX }))
  .min(1)
  .max(MAX_INPUT_IDS);

export const openaiEmbedSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(MAX_EMBED_INPUTS),
    ids,
    z.array(ids).min(1).max(MAX_EMBED_INPUTS),
  ]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: uint32({ min: 1 }).nullish(),
  // The end user's id, for the caller's own abuse tracking: metadata, never part of the output.
  user: z.string().max(256).nullish(),
  keep_alive: keepAliveField,
  backend: backendField,
});

export type OllamaEmbedBody = z.infer<typeof ollamaEmbedSchema>;
export type OllamaLegacyEmbedBody = z.infer<typeof ollamaLegacyEmbedSchema>;
export type OpenAiEmbedBody = z.infer<typeof openaiEmbedSchema>;

function textInputs(texts: readonly string[]): EmbedInput[] {
  return texts.map((text) => ({ text }));
}

/** UTF-8 bytes of every text in the request, for the gateway's prompt-size limit. */
export function embedInputBytes(request: EmbedRequest): number {
  return request.inputs.reduce(
    (sum, input) =>
      sum + (input.text !== undefined ? Buffer.byteLength(input.text) : (input.tokens?.ids.length ?? 0) * 4),
    0,
  );
}

export function ollamaEmbedRequest(body: OllamaEmbedBody, context: RequestContext): EmbedRequest {
  const texts = typeof body.input === 'string' ? [body.input] : body.input;
  return {
    model: body.model,
    inputs: textInputs(texts),
    truncate: body.truncate ?? true,
    ...(body.dimensions === undefined ? {} : { dimensions: body.dimensions }),
    ...(body.options?.num_ctx === undefined ? {} : { maxTokens: body.options.num_ctx }),
    context,
  };
}

export function ollamaLegacyEmbedRequest(body: OllamaLegacyEmbedBody, context: RequestContext): EmbedRequest {
  return {
    model: body.model,
    inputs: textInputs([body.prompt]),
    truncate: true,
    ...(body.options?.num_ctx === undefined ? {} : { maxTokens: body.options.num_ctx }),
    context,
  };
}

export function openaiEmbedRequest(body: OpenAiEmbedBody, context: RequestContext): EmbedRequest {
  const input = body.input;
  let inputs: EmbedInput[];
  if (typeof input === 'string') inputs = [{ text: input }];
  else if (input.every((item): item is string => typeof item === 'string')) inputs = textInputs(input);
  else if (input.every((item): item is number => typeof item === 'number'))
    inputs = [{ tokens: { ids: input } }];
  else inputs = (input as number[][]).map((list) => ({ tokens: { ids: list } }));
  if (inputs.some((item) => item.text === '')) {
    throw new VmmError(ErrorCode.InvalidArgument, 'input must not hold empty strings', { field: 'input' });
  }
  return {
    model: body.model,
    inputs,
    // OpenAI refuses inputs over the model's maximum instead of cutting them.
    truncate: false,
    ...(body.dimensions == null ? {} : { dimensions: body.dimensions }),
    context,
  };
}

const rows = (response: EmbedResponse) => response.embeddings.map((embedding) => embedding.values);

export function ollamaEmbedResponse(model: string, response: EmbedResponse) {
  return {
    model,
    embeddings: rows(response),
    total_duration: response.totalNs,
    load_duration: response.loadNs,
    prompt_eval_count: response.promptTokens,
  };
}

export function ollamaLegacyEmbedResponse(response: EmbedResponse) {
  return { embedding: rows(response)[0] ?? [] };
}

/** base64: the float32 values' little-endian bytes, as OpenAI encodes them. */
function base64Floats(values: readonly number[]): string {
  const floats = Float32Array.from(values);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

export function openaiEmbedResponse(model: string, response: EmbedResponse, encoding: 'float' | 'base64') {
  return {
    object: 'list',
    data: rows(response).map((values, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? base64Floats(values) : values,
    })),
    model,
    usage: { prompt_tokens: response.promptTokens, total_tokens: response.promptTokens },
  };
}

/** Refuses (413) embedding inputs larger than `maxBytes` in all, before any worker sees them. */
export function checkEmbedSize(request: EmbedRequest, maxBytes: number): void {
  const bytes = embedInputBytes(request);
  if (bytes > maxBytes) {
    throw new VmmError(
      ErrorCode.PayloadTooLarge,
      `the input is ${bytes} bytes; the limit is ${maxBytes} bytes (VMM_MAX_PROMPT_BYTES)`,
      { field: 'input' },
    );
  }
}
