import { FinishReason, type GenerateDone, type RequestContext, Role, type SamplingOptions } from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField, stopList } from './common.js';
import { safeInt, uint32 } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';
import type { TextJob } from './text-job.js';

// OpenAI's Chat Completions and legacy Completions APIs, as the official SDKs call them.

const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: uint32({ min: 1 }).nullish(),
  max_completion_tokens: uint32({ min: 1 }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  stop: z.union([stopList.element, stopList]).nullish(),
  seed: safeInt().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().nullish(),
  keep_alive: keepAliveField,
  backend: backendField,
};

const content = z.union([
  z.string(),
  z.array(z.object({ type: z.literal('text', 'only text content parts are supported'), text: z.string() })),
]);

export const openaiChatSchema = z.object({
  ...common,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: content.nullish(),
        name: z.string().optional(),
      }),
    )
    .min(1)
    .max(MAX_MESSAGES),
});

export const openaiCompletionSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
});

export type OpenAiChatBody = z.infer<typeof openaiChatSchema>;
export type OpenAiCompletionBody = z.infer<typeof openaiCompletionSchema>;

function sampling(body: OpenAiChatBody | OpenAiCompletionBody): SamplingOptions {
  const out: SamplingOptions = {
    stop: body.stop === undefined || body.stop === null ? [] : [body.stop].flat(),
  };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) out.maxTokens = maxTokens;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.topP = body.top_p;
  if (body.seed != null && body.seed >= 0) out.seed = body.seed;
  if (body.presence_penalty != null) out.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) out.frequencyPenalty = body.frequency_penalty;
  // OpenAI has no repetition penalty; leave it neutral rather than apply Ollama's default.
  out.repetitionPenalty = 1;
  return out;
}

const text = (value: z.infer<typeof content> | null | undefined) =>
  value === null || value === undefined
    ? ''
    : typeof value === 'string'
      ? value
      : value.map((part) => part.text).join('');

export function openaiTextJob(body: OpenAiChatBody | OpenAiCompletionBody, context: RequestContext): TextJob {
  if ('messages' in body) {
    return {
      kind: 'chat',
      request: {
        model: body.model,
        messages: body.messages.map((m) => ({
          role:
            m.role === 'developer'
              ? Role.ROLE_SYSTEM
              : Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
          content: text(m.content),
        })),
        options: sampling(body),
        context,
      },
    };
  }
  return {
    kind: 'generate',
    request: {
      model: body.model,
      prompt: [body.prompt].flat()[0] ?? '',
      system: undefined,
      raw: true,
      // OpenAI's legacy completions default to 16 tokens.
      options: {
        ...sampling(body),
        ...(body.max_tokens == null && body.max_completion_tokens == null ? { maxTokens: 16 } : {}),
      },
      context,
    },
  };
}

export const openaiFinishReason = (reason: FinishReason | undefined) =>
  reason === FinishReason.FINISH_REASON_LENGTH ? 'length' : 'stop';

export function openaiUsage(done: GenerateDone | undefined) {
  const prompt = done?.usage?.promptTokens ?? 0;
  const completion = done?.usage?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** The whole-object answer of a completion (stream false), chat or legacy. */
export function openaiCompletionResponse(options: {
  id: string;
  created: number;
  model: string;
  chat: boolean;
  text: string;
  done: GenerateDone | undefined;
  version: string;
}) {
  const reason = openaiFinishReason(options.done?.finishReason);
  return {
    id: options.id,
    object: options.chat ? 'chat.completion' : 'text_completion',
    created: options.created,
    model: options.model,
    choices: [
      options.chat
        ? {
            index: 0,
            message: { role: 'assistant', content: options.text, refusal: null },
            logprobs: null,
            finish_reason: reason,
          }
        : { index: 0, text: options.text, logprobs: null, finish_reason: reason },
    ],
    usage: openaiUsage(options.done),
    system_fingerprint: `vmm-${options.version}`,
  };
}
