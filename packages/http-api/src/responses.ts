import { ErrorCode, VmmError } from '@vmm/errors';
import { FinishReason, type GenerateDone } from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField } from './common.js';
import { uint32 } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';

// OpenAI's Responses API, the subset that maps onto a chat: text input or messages,
// instructions, max_output_tokens, sampling, text formats (JSON, JSON schema), streaming events.
// What does not map (tools, previous_response_id, background runs) is refused by name.

const textPart = z.object({
  type: z.enum(['input_text', 'output_text', 'text']),
  text: z.string(),
});

const messageItem = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(textPart).max(1000)]),
  id: z.string().optional(),
  status: z.string().optional(),
});

const textFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().max(64).optional(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
    description: z.string().optional(),
  }),
]);

const refused = (field: string, why: string) =>
  z
    .unknown()
    .refine(
      (value) => value === undefined || value === null || (Array.isArray(value) && value.length === 0),
      {
        message: `${field} is not supported on /v1/responses: ${why}`,
      },
    )
    .optional();

export const responsesSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(messageItem).min(1).max(MAX_MESSAGES)]),
  instructions: z.string().nullish(),
  max_output_tokens: uint32({ min: 1 }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  text: z.object({ format: textFormat.optional() }).nullish(),
  // Not stored: responses cannot be fetched or continued later.
  store: z.boolean().nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  user: z.string().max(256).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  truncation: z.literal('disabled').nullish(),
  include: z.array(z.string()).max(0, 'include is not supported on /v1/responses').nullish(),
  tools: refused('tools', 'use /v1/chat/completions for tool calls'),
  tool_choice: z.union([z.literal('auto'), z.literal('none')]).nullish(),
  previous_response_id: refused(
    'previous_response_id',
    'responses are not stored; send the whole conversation',
  ),
  reasoning: refused('reasoning', 'VMM serves no reasoning models'),
  background: z.literal(false).nullish(),
  keep_alive: keepAliveField,
  backend: backendField,
});

export type ResponsesBody = z.infer<typeof responsesSchema>;

/** The chat request (OpenAI Chat Completions shape) a Responses request means. */
export function responsesToChat(body: ResponsesBody): Record<string, unknown> {
  const text = (content: string | { text: string }[]) =>
    typeof content === 'string' ? content : content.map((part) => part.text).join('');
  const messages = [
    ...(body.instructions ? [{ role: 'system', content: body.instructions }] : []),
    ...(typeof body.input === 'string'
      ? [{ role: 'user', content: body.input }]
      : body.input.map((item) => ({
          role: item.role === 'developer' ? 'system' : item.role,
          content: text(item.content),
        }))),
  ];
  const format = body.text?.format;
  if (messages.length > MAX_MESSAGES)
    throw new VmmError(ErrorCode.InvalidArgument, `at most ${MAX_MESSAGES} messages`, { field: 'input' });
  return {
    model: body.model,
    messages,
    ...(body.max_output_tokens ? { max_tokens: body.max_output_tokens } : {}),
    ...(body.temperature === undefined || body.temperature === null ? {} : { temperature: body.temperature }),
    ...(body.top_p === undefined || body.top_p === null ? {} : { top_p: body.top_p }),
    ...(format?.type === 'json_object' ? { response_format: { type: 'json_object' } } : {}),
    ...(format?.type === 'json_schema'
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: format.name ?? 'response',
              schema: format.schema,
              strict: format.strict ?? null,
            },
          },
        }
      : {}),
    ...(body.keep_alive === undefined ? {} : { keep_alive: body.keep_alive }),
    ...(body.backend === undefined ? {} : { backend: body.backend }),
  };
}

/** OpenAI's Response object around the text generated so far (`done` once it has ended). */
export function responseObject(
  body: ResponsesBody,
  ids: { id: string; messageId: string; createdAt: number },
  text: string,
  done: GenerateDone | undefined,
): Record<string, unknown> {
  const finished = done !== undefined;
  const cut = done?.finishReason === FinishReason.FINISH_REASON_LENGTH;
  const input = done?.usage?.promptTokens ?? 0;
  const output = done?.usage?.completionTokens ?? 0;
  return {
    id: ids.id,
    object: 'response',
    created_at: ids.createdAt,
    status: finished ? (cut ? 'incomplete' : 'completed') : 'in_progress',
    error: null,
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output: finished ? [messageOutput(ids.messageId, text, cut ? 'incomplete' : 'completed')] : [],
    parallel_tool_calls: true,
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    tool_choice: body.tool_choice ?? 'auto',
    tools: [],
    text: { format: body.text?.format ?? { type: 'text' } },
    truncation: 'disabled',
    store: false,
    metadata: body.metadata ?? {},
    usage: finished
      ? {
          input_tokens: input,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: input + output,
        }
      : null,
  };
}

/** The assistant message item of a response. */
export function messageOutput(id: string, text: string, status: 'in_progress' | 'completed' | 'incomplete') {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: status === 'in_progress' && text === '' ? [] : [{ type: 'output_text', text, annotations: [] }],
  };
}
