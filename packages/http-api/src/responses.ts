import { ErrorCode, VmmError } from '@vmm/errors';
import { FinishReason, type GenerateDone, type ToolCall } from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField } from './common.js';
import { uint32 } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';
import { jsonSchemaObject, MAX_TOOLS } from './text-fields.js';

// OpenAI's Responses API, the part that maps onto a chat: text input or messages, instructions,
// max_output_tokens, sampling, text formats (JSON, JSON schema), function tools (calls out,
// their outputs back in the next request), streaming events. What needs stored responses
// (previous_response_id, item_reference) or other tools (web search, files) is refused by name.

const textPart = z.object({
  type: z.enum(['input_text', 'output_text', 'text']),
  text: z.string(),
});

/** A picture in a message (a data URL, or a remote URL where the gateway fetches them); file_id needs stored files. */
const imagePart = z.strictObject({
  type: z.literal('input_image'),
  image_url: z.string(),
  detail: z.enum(['auto', 'low', 'high']).nullish(),
});

const messageItem = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.union([textPart, imagePart])).max(1000)]),
  id: z.string().optional(),
  status: z.string().optional(),
});

/** A call the model made in an earlier turn, sent back as part of the conversation. */
const functionCallItem = z.strictObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1).max(256),
  name: z.string().min(1).max(256),
  arguments: z.string(),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

/** What the caller's function returned for a call. */
const functionCallOutputItem = z.strictObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1).max(256),
  output: z.union([z.string(), z.array(textPart).max(1000)]),
  id: z.string().nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
});

/** A pointer to an item of a stored response: refused by name (VMM stores no responses). */
const itemReference = z.strictObject({ type: z.literal('item_reference'), id: z.string() });

const inputItem = z.union([functionCallItem, functionCallOutputItem, itemReference, messageItem]);

/** Responses' function tool: the chat tool's fields, one level up. */
const functionTool = z.strictObject({
  type: z.literal(
    'function',
    'only function tools are supported (no web search, file search or computer use)',
  ),
  name: z.string().min(1).max(256),
  description: z.string().max(16_384).nullish(),
  parameters: jsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), name: z.string().min(1) }),
  // Restricts the call to some of the tools; mode as above.
  z.strictObject({
    type: z.literal('allowed_tools'),
    mode: z.enum(['auto', 'required']),
    tools: z
      .array(z.strictObject({ type: z.literal('function'), name: z.string().min(1) }))
      .min(1)
      .max(MAX_TOOLS),
  }),
]);

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
  input: z.union([z.string(), z.array(inputItem).min(1).max(MAX_MESSAGES)]),
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
  tools: z.array(functionTool).max(MAX_TOOLS).nullish(),
  tool_choice: toolChoice.nullish(),
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

const text = (content: string | { text: string }[]) =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

/** Message content in Chat Completions' shape: text, or text and image_url parts. */
function chatContent(
  content: z.infer<typeof messageItem>['content'],
): string | ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } })[] {
  if (typeof content === 'string' || content.every((part) => part.type !== 'input_image'))
    return text(content as { text: string }[] | string);
  return content.map((part) =>
    part.type === 'input_image'
      ? { type: 'image_url', image_url: { url: part.image_url } }
      : { type: 'text', text: part.text },
  );
}

type ChatMessage = {
  role: string;
  content: string | null | ReturnType<typeof chatContent>;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
};

/** Input items as chat messages: consecutive calls join the assistant turn that made them. */
function chatMessages(items: Exclude<ResponsesBody['input'], string>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const item of items) {
    if (item.type === 'function_call') {
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: item.arguments },
      };
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: text(item.output) });
    } else if (item.type === 'item_reference') {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        'item_reference needs stored responses and VMM stores none: send the items themselves ' +
          '(the AI SDK does with providerOptions: { openai: { store: false } })',
        { field: `input.${items.indexOf(item)}` },
      );
    } else {
      messages.push({
        role: item.role === 'developer' ? 'system' : item.role,
        content: chatContent(item.content),
      });
    }
  }
  return messages;
}

/** tools and tool_choice in Chat Completions' shape; allowed_tools narrows the tools. */
function chatTools(body: ResponsesBody): Record<string, unknown> {
  const choice = body.tool_choice;
  let tools = body.tools ?? [];
  if (choice && typeof choice === 'object' && choice.type === 'allowed_tools') {
    const allowed = new Set(choice.tools.map((tool) => tool.name));
    const unknown = [...allowed].filter((name) => !tools.some((tool) => tool.name === name));
    if (unknown.length > 0)
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `tool_choice names tools not in tools: ${unknown.join(', ')}`,
        {
          field: 'tool_choice',
        },
      );
    tools = tools.filter((tool) => allowed.has(tool.name));
  }
  if (tools.length === 0 && (choice === undefined || choice === null || typeof choice === 'string'))
    return choice === 'required' ? { tool_choice: 'required' } : {};
  return {
    tools: tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        ...(tool.parameters ? { parameters: tool.parameters } : {}),
        ...(tool.strict == null ? {} : { strict: tool.strict }),
      },
    })),
    ...(choice == null
      ? {}
      : {
          tool_choice:
            typeof choice === 'string'
              ? choice
              : choice.type === 'function'
                ? { type: 'function', function: { name: choice.name } }
                : choice.mode,
        }),
    ...(body.parallel_tool_calls == null ? {} : { parallel_tool_calls: body.parallel_tool_calls }),
  };
}

/** The chat request (OpenAI Chat Completions shape) a Responses request means. */
export function responsesToChat(body: ResponsesBody): Record<string, unknown> {
  const messages = [
    ...(body.instructions ? [{ role: 'system', content: body.instructions }] : []),
    ...(typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : chatMessages(body.input)),
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
    ...chatTools(body),
    ...(body.keep_alive === undefined ? {} : { keep_alive: body.keep_alive }),
    ...(body.backend === undefined ? {} : { backend: body.backend }),
  };
}

/** The calls a finished generation made, as many as parallel_tool_calls allows. */
export function responseCalls(body: ResponsesBody, done: GenerateDone | undefined): ToolCall[] {
  const calls = done?.toolCalls?.calls ?? [];
  return body.parallel_tool_calls === false ? calls.slice(0, 1) : calls;
}

/** A `function_call` output item; its id is derived from the call's, so stream and object agree. */
export function functionCallOutput(call: ToolCall, status: 'in_progress' | 'completed') {
  return {
    type: 'function_call',
    id: `fc_${call.id.replace(/^call_/, '')}`,
    call_id: call.id,
    name: call.name,
    arguments: status === 'completed' ? call.argumentsJson : '',
    status,
  };
}

/**
 * A finished response's output items: the assistant's message (left out when the turn is only
 * calls), then one function_call per call.
 */
function outputItems(body: ResponsesBody, messageId: string, text: string, done: GenerateDone) {
  const calls = responseCalls(body, done);
  const cut = done.finishReason === FinishReason.FINISH_REASON_LENGTH;
  return [
    ...(calls.length > 0 && text === ''
      ? []
      : [messageOutput(messageId, text, cut ? 'incomplete' : 'completed')]),
    ...calls.map((call) => functionCallOutput(call, 'completed')),
  ];
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
    output: done ? outputItems(body, ids.messageId, text, done) : [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    temperature: body.temperature ?? 1,
    top_p: body.top_p ?? 1,
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    })),
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
