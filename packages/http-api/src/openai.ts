import { ErrorCode, VmmError } from '@vmm/errors';
import {
  FinishReason,
  type GenerateDone,
  type RequestContext,
  Role,
  type SamplingOptions,
  ThinkMode,
  type TokenLogprob,
} from '@vmm/proto';
import { z } from 'zod';
import { imagePartUrl, openaiImagePart, textAndImages } from './chat-images.js';
import { backendField, keepAliveField, stopList } from './common.js';
import { safeInt, uint32 } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';
import {
  logprobEntries,
  MAX_TOOLS,
  MAX_TOP_LOGPROBS,
  neutralOnly,
  openaiFormat,
  openaiToolCalls,
  responseFormatSchema,
  toolCallsToProto,
  toolChoiceToProto,
  toolSchema,
  toolsToProto,
} from './text-fields.js';
import type { TextJob } from './text-job.js';
import { unsupportedField } from './validation.js';

// OpenAI's Chat Completions and legacy Completions APIs, as the official SDKs call them. The
// schemas are strict: a field VMM does not honour is refused by name (see docs/api.md).

const MAX_LOGIT_BIAS = 1024;

const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
    .nullish(),
  max_tokens: uint32({ min: 1 }).nullish(),
  max_completion_tokens: uint32({ min: 1 }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  stop: z.union([stopList.element, stopList]).nullish(),
  seed: safeInt().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z
    .record(
      z
        .string()
        .regex(/^\d+$/, 'logit_bias keys must be token ids')
        // Token ids travel as uint32 (and no vocabulary comes near 2^31): larger is refused here.
        .refine(
          (id) => id.length <= 10 && Number(id) <= 0x7fffffff,
          'logit_bias keys must be token ids below 2^31',
        ),
      z.number().min(-100).max(100),
    )
    .nullish(),
  // The end user's id, for the caller's own abuse tracking: metadata, never part of the output.
  user: z.string().max(256).nullish(),
  // Not stored, ever: only the value that asks for no storage is accepted.
  store: z.boolean().nullish(),
  keep_alive: keepAliveField,
  backend: backendField,
};

const contentPart = z.discriminatedUnion(
  'type',
  [z.strictObject({ type: z.literal('text'), text: z.string() }), openaiImagePart],
  { error: 'content parts are text or image_url' },
);
const content = z.union([z.string(), z.array(contentPart).max(1000)]);

const toolCall = z.strictObject({
  id: z.string().max(256),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
]);

export const openaiChatSchema = z.strictObject({
  ...common,
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: content.nullish(),
        name: z.string().optional(),
        tool_calls: z.array(toolCall).max(MAX_TOOLS).optional(),
        tool_call_id: z.string().max(256).optional(),
        refusal: z.null().optional(),
      }),
    )
    .min(1)
    .max(MAX_MESSAGES),
  logprobs: z.boolean().nullish(),
  top_logprobs: safeInt({ min: 0, max: MAX_TOP_LOGPROBS }).nullish(),
  response_format: responseFormatSchema.nullish(),
  tools: z.array(toolSchema).max(MAX_TOOLS).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  // Thinking models: how hard to think, through the template's own switch; `none` turns it off.
  // The thought comes back as `reasoning_content` (DeepSeek's and vLLM's field).
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(),
});

/** OpenAI's reasoning_effort as a think setting: none is off, minimal the lowest level. */
function reasoningToProto(effort: OpenAiChatBody['reasoning_effort']): ThinkMode | undefined {
  if (effort === undefined || effort === null) return undefined;
  return {
    none: ThinkMode.THINK_MODE_OFF,
    minimal: ThinkMode.THINK_MODE_LOW,
    low: ThinkMode.THINK_MODE_LOW,
    medium: ThinkMode.THINK_MODE_MEDIUM,
    high: ThinkMode.THINK_MODE_HIGH,
  }[effort];
}

export const openaiCompletionSchema = z.strictObject({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.literal(1, 'only best_of=1 is supported').nullish(),
  // Completions: the number of alternatives to report per token (0 reports the chosen one only).
  logprobs: safeInt({ min: 0, max: MAX_TOP_LOGPROBS }).nullish(),
});

export type OpenAiChatBody = z.infer<typeof openaiChatSchema>;
export type OpenAiCompletionBody = z.infer<typeof openaiCompletionSchema>;

function sampling(body: OpenAiChatBody | OpenAiCompletionBody): SamplingOptions {
  neutralOnly('store', body.store, [false], 'VMM stores no completions; leave store out or false');
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
  if (body.logit_bias) {
    const entries = Object.entries(body.logit_bias);
    if (entries.length > MAX_LOGIT_BIAS) {
      throw new VmmError(ErrorCode.InvalidArgument, `logit_bias may hold at most ${MAX_LOGIT_BIAS} tokens`, {
        field: 'logit_bias',
      });
    }
    if (entries.length > 0)
      out.logitBias = { bias: Object.fromEntries(entries.map(([id, v]) => [Number(id), v])) };
  }
  // OpenAI has no repetition penalty; leave it neutral rather than apply Ollama's default.
  out.repetitionPenalty = 1;
  return out;
}

/** A message's content: its text, and its pictures where they sat between text parts. */
function textAndImagesOf(value: z.infer<typeof content> | null | undefined, field: string) {
  if (value === null || value === undefined) return { content: '', images: [] };
  if (typeof value === 'string') return { content: value, images: [] };
  return textAndImages(
    value.map((part) => (part.type === 'text' ? part : { type: 'image' as const, url: imagePartUrl(part) })),
    field,
  );
}

export function openaiTextJob(body: OpenAiChatBody | OpenAiCompletionBody, context: RequestContext): TextJob {
  const options = sampling(body);
  if ('messages' in body) {
    if (body.logprobs) {
      options.logprobs = true;
      options.topLogprobs = body.top_logprobs ?? 0;
    } else if (body.top_logprobs) {
      throw new VmmError(ErrorCode.InvalidArgument, 'top_logprobs needs logprobs: true', {
        field: 'top_logprobs',
      });
    }
    const format = openaiFormat(body.response_format);
    const tools = toolsToProto(body.tools);
    if (tools.length === 0 && (body.tool_choice === 'required' || typeof body.tool_choice === 'object')) {
      throw new VmmError(ErrorCode.InvalidArgument, 'tool_choice asks for a call but no tools were given', {
        field: 'tool_choice',
      });
    }
    return {
      kind: 'chat',
      request: {
        model: body.model,
        messages: body.messages.map((m, i) => ({
          role:
            m.role === 'developer'
              ? Role.ROLE_SYSTEM
              : Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
          ...textAndImagesOf(m.content, `messages.${i}.content`),
          ...toolCallsToProto(
            m.tool_calls?.map((call) => ({
              id: call.id,
              name: call.function.name,
              arguments: call.function.arguments,
            })),
          ),
          ...(m.tool_call_id ? { toolCallId: m.tool_call_id } : {}),
          ...(m.name ? { name: m.name } : {}),
        })),
        options,
        context,
        ...(format ? { format } : {}),
        ...(tools.length > 0 ? { toolUse: { tools, choice: toolChoiceToProto(body.tool_choice) } } : {}),
        ...(reasoningToProto(body.reasoning_effort) === undefined
          ? {}
          : { think: reasoningToProto(body.reasoning_effort) }),
      },
    };
  }
  if (body.suffix) {
    throw unsupportedField(
      'suffix',
      'fill-in-the-middle needs a model with infill tokens; the models VMM serves have none',
    );
  }
  if (body.echo && body.logprobs != null) {
    throw unsupportedField(
      'echo',
      "echo with logprobs would need the prompt tokens' logprobs, which VMM does not compute",
    );
  }
  if (body.logprobs != null) {
    options.logprobs = true;
    options.topLogprobs = body.logprobs;
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
        ...options,
        ...(body.max_tokens == null && body.max_completion_tokens == null ? { maxTokens: 16 } : {}),
      },
      context,
      images: [],
    },
  };
}

export const openaiFinishReason = (reason: FinishReason | undefined) =>
  reason === FinishReason.FINISH_REASON_LENGTH
    ? 'length'
    : reason === FinishReason.FINISH_REASON_TOOL_CALLS
      ? 'tool_calls'
      : 'stop';

export function openaiUsage(done: GenerateDone | undefined) {
  const prompt = done?.usage?.promptTokens ?? 0;
  const completion = done?.usage?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Chat's `logprobs` object: one entry per generated token. */
export const openaiChatLogprobs = (logprobs: readonly TokenLogprob[]) => ({
  content: logprobEntries(logprobs),
  refusal: null,
});

/** Legacy completions' `logprobs`: parallel lists, alternatives as token → logprob maps. */
export function openaiCompletionLogprobs(logprobs: readonly TokenLogprob[], textOffset: number) {
  const offsets: number[] = [];
  let at = textOffset;
  for (const logprob of logprobs) {
    offsets.push(at);
    at += logprob.token.length;
  }
  return {
    tokens: logprobs.map((l) => l.token),
    token_logprobs: logprobs.map((l) => l.logprob),
    top_logprobs: logprobs.map((l) => Object.fromEntries(l.top.map((t) => [t.token, t.logprob]))),
    text_offset: offsets,
  };
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
  logprobs: readonly TokenLogprob[] | undefined;
  /** Legacy completions with echo: where the output starts in `text`. */
  textOffset?: number;
  /** False: at most one tool call is returned (OpenAI's parallel_tool_calls). */
  parallelToolCalls?: boolean;
  /** A thinking model's thought, returned as `reasoning_content`. */
  reasoning?: string;
}) {
  const reason = openaiFinishReason(options.done?.finishReason);
  const calls = options.done?.toolCalls?.calls ?? [];
  const kept = options.parallelToolCalls === false ? calls.slice(0, 1) : calls;
  return {
    id: options.id,
    object: options.chat ? 'chat.completion' : 'text_completion',
    created: options.created,
    model: options.model,
    choices: [
      options.chat
        ? {
            index: 0,
            message: {
              role: 'assistant',
              content: kept.length > 0 && options.text === '' ? null : options.text,
              refusal: null,
              ...(options.reasoning ? { reasoning_content: options.reasoning } : {}),
              ...(kept.length > 0 ? { tool_calls: openaiToolCalls(kept) } : {}),
            },
            logprobs: options.logprobs ? openaiChatLogprobs(options.logprobs) : null,
            finish_reason: reason,
          }
        : {
            index: 0,
            text: options.text,
            logprobs: options.logprobs
              ? openaiCompletionLogprobs(options.logprobs, options.textOffset ?? 0)
              : null,
            finish_reason: reason,
          },
    ],
    usage: openaiUsage(options.done),
    system_fingerprint: `vmm-${options.version}`,
  };
}
