import { ErrorCode, VmmError } from '@vmm/errors';
import {
  type OutputFormat,
  type Tool,
  type ToolCall,
  type ToolChoice,
  ToolChoiceMode,
  type TokenLogprob,
} from '@vmm/proto';
import { z } from 'zod';
import { unsupportedField } from './validation.js';

// Request fields Ollama's and OpenAI's APIs share in spirit: formats, tools, logprobs.

/** Tools per request, and the JSON text of one tool's parameters. */
export const MAX_TOOLS = 128;
export const MAX_TOOL_SCHEMA_BYTES = 64 * 1024;
export const MAX_TOP_LOGPROBS = 20;

/** A JSON Schema as clients send it: an object; its keywords are checked by the worker. */
export const jsonSchemaObject = z.record(z.string(), z.unknown());

export const functionSchema = z.strictObject({
  name: z.string().min(1).max(256),
  description: z.string().max(16_384).optional(),
  parameters: jsonSchemaObject.optional(),
  // OpenAI: the arguments must follow the schema exactly, which constrained decoding does.
  strict: z.boolean().nullish(),
});

export const toolSchema = z.strictObject({
  type: z.literal('function', 'only function tools are supported'),
  function: functionSchema,
});

export function schemaText(schema: unknown, field: string): string {
  const text = JSON.stringify(schema);
  if (Buffer.byteLength(text) > MAX_TOOL_SCHEMA_BYTES) {
    throw new VmmError(ErrorCode.InvalidArgument, `${field} is larger than ${MAX_TOOL_SCHEMA_BYTES} bytes`, {
      field,
    });
  }
  return text;
}

export function toolsToProto(tools: readonly z.infer<typeof toolSchema>[] | undefined | null): Tool[] {
  return (tools ?? []).map((tool, i) => ({
    name: tool.function.name,
    description: tool.function.description ?? '',
    parametersJson: tool.function.parameters
      ? schemaText(tool.function.parameters, `tools[${i}].function.parameters`)
      : '',
  }));
}

export function toolChoiceToProto(
  choice: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } } | undefined | null,
): ToolChoice {
  if (choice === undefined || choice === null || choice === 'auto')
    return { mode: ToolChoiceMode.TOOL_CHOICE_MODE_AUTO, function: '' };
  if (choice === 'none') return { mode: ToolChoiceMode.TOOL_CHOICE_MODE_NONE, function: '' };
  if (choice === 'required') return { mode: ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED, function: '' };
  return { mode: ToolChoiceMode.TOOL_CHOICE_MODE_FUNCTION, function: choice.function.name };
}

/** Ollama's `format`: "json", a JSON Schema object, or "" / absent for none. */
export function ollamaFormat(format: unknown): OutputFormat | undefined {
  if (format === undefined || format === null || format === '') return undefined;
  if (format === 'json') return { jsonObject: true };
  if (typeof format === 'object' && !Array.isArray(format))
    return { jsonSchema: schemaText(format, 'format') };
  throw new VmmError(
    ErrorCode.InvalidArgument,
    `format must be "json" or a JSON Schema object, got ${JSON.stringify(format).slice(0, 40)}`,
    { field: 'format' },
  );
}

/** OpenAI's `response_format`. */
export const responseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      schema: jsonSchemaObject.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export function openaiFormat(
  format: z.infer<typeof responseFormatSchema> | undefined | null,
): OutputFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { jsonObject: true };
  return { jsonSchema: schemaText(format.json_schema.schema ?? {}, 'response_format.json_schema.schema') };
}

/** A field accepted only at the value that changes nothing; any other value is refused. */
export function neutralOnly<T>(
  field: string,
  value: T | undefined | null,
  neutral: readonly T[],
  why: string,
): void {
  if (value === undefined || value === null || neutral.includes(value)) return;
  throw unsupportedField(field, why);
}

const logprobText = (logprob: { token: string; logprob: number; bytes: Uint8Array }) => ({
  token: logprob.token,
  logprob: logprob.logprob,
  bytes: Array.from(logprob.bytes),
});

/** OpenAI chat's and Ollama's per-token shape: token, logprob, bytes, top_logprobs. */
export function logprobEntries(logprobs: readonly TokenLogprob[]) {
  return logprobs.map((logprob) => ({ ...logprobText(logprob), top_logprobs: logprob.top.map(logprobText) }));
}

/** OpenAI's `tool_calls` from the worker's calls. */
export function openaiToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: call.argumentsJson },
  }));
}

/** Ollama's `tool_calls`: arguments as an object. */
export function ollamaToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call, index) => ({
    id: call.id,
    function: { index, name: call.name, arguments: JSON.parse(call.argumentsJson) as unknown },
  }));
}

/** Earlier calls in a conversation's history, as the contract carries them. */
export function toolCallsToProto(
  calls: readonly { id: string; name: string; arguments: string }[] | undefined,
) {
  return calls && calls.length > 0
    ? {
        toolCalls: {
          calls: calls.map((call) => ({ id: call.id, name: call.name, argumentsJson: call.arguments })),
        },
      }
    : {};
}
