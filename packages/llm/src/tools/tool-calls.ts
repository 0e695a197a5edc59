import { randomBytes } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { ChatMessage, ToolCall, ToolChoice, ToolSpec } from '../types.js';

type Json = Record<string, unknown>;

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `call_` and 24 random characters, as OpenAI's ids look. */
export function toolCallId(): string {
  const bytes = randomBytes(24);
  let id = 'call_';
  for (const b of bytes) id += ID_CHARS[b % ID_CHARS.length];
  return id;
}

/** A tool's parameter schema as an object; an absent one takes any object. */
export function toolParameters(tool: ToolSpec, index: number): Json {
  if (!tool.parameters) return { type: 'object' };
  try {
    const value: unknown = JSON.parse(tool.parameters);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // Refused below.
  }
  throw new VmmError(ErrorCode.InvalidArgument, `tools[${index}].parameters must be a JSON Schema object`, {
    field: `tools[${index}].parameters`,
  });
}

/**
 * A tool's parameters as a schema resource of their own (a `$id`), so that the `#/$defs/…` refs
 * inside them resolve against the parameters, not the tool-call schema they are embedded in.
 */
const asResource = (parameters: Json, index: number): Json =>
  typeof parameters.$id === 'string' ? parameters : { ...parameters, $id: `vmm:tools/${index}/parameters` };

/**
 * The schema that `tool_choice: "required"` or a named function constrains the output to: one
 * call written as `{"name": ..., "arguments": {...}}`, which parseToolCalls reads back.
 */
export function toolCallSchema(tools: readonly ToolSpec[], choice: ToolChoice): Json {
  const call = (tool: ToolSpec, index: number): Json => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: asResource(toolParameters(tool, index), index) },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  if (typeof choice === 'object') {
    const index = tools.findIndex((tool) => tool.name === choice.function);
    if (index < 0) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `tool_choice names "${choice.function}", which is not among the tools`,
        {
          field: 'tool_choice',
        },
      );
    }
    return call(tools[index] as ToolSpec, index);
  }
  const calls = tools.map(call);
  return calls.length === 1 ? (calls[0] as Json) : { anyOf: calls };
}

/** Whether a chat template reads `tools` itself (Hermes, Qwen 2.5, Llama 3.1, Mistral templates do). */
export const templateTakesTools = (template: string | undefined): boolean =>
  template !== undefined && /\btools\b/.test(template);

/** The system text that tells a model whose template knows no tools how to call them. */
export function defaultToolPrompt(tools: readonly ToolSpec[]): string {
  const list = tools
    .map((tool, i) =>
      JSON.stringify({
        name: tool.name,
        description: tool.description ?? '',
        parameters: toolParameters(tool, i),
      }),
    )
    .join('\n');
  return (
    'You can call the following tools. To call one, reply with only a JSON object of the form ' +
    '{"name": <tool name>, "arguments": <arguments object>} and nothing else.\n' +
    `Tools:\n${list}`
  );
}

const callText = (call: ToolCall) => `{"name": ${JSON.stringify(call.name)}, "arguments": ${call.arguments}}`;

/**
 * The conversation as a template without tool support can take: the tool prompt joins the
 * system message, earlier calls are written as the JSON the model is asked for, and tool
 * results become user turns that say which call they answer.
 */
export function messagesWithDefaultTools(
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[],
): ChatMessage[] {
  const out: ChatMessage[] = messages.map((message) => {
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const calls = message.toolCalls.map(callText).join('\n');
      return { role: 'assistant', content: message.content ? `${message.content}\n${calls}` : calls };
    }
    if (message.role === 'tool') {
      const who = message.name ?? message.toolCallId ?? 'a tool';
      return { role: 'user', content: `Result of ${who}: ${message.content}` };
    }
    return { role: message.role, content: message.content };
  });
  if (tools.length === 0) return out;
  const prompt = defaultToolPrompt(tools);
  const first = out[0];
  if (first?.role === 'system') out[0] = { role: 'system', content: `${first.content}\n\n${prompt}` };
  else out.unshift({ role: 'system', content: prompt });
  return out;
}

/** Messages and tools as Hugging Face chat templates read them. */
export function templateMessages(messages: readonly ChatMessage[]): Json[] {
  return messages.map((message) => {
    const out: Json = { role: message.role, content: message.content };
    if (message.toolCalls?.length) {
      out.tool_calls = message.toolCalls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: parseArguments(call.arguments) },
      }));
    }
    if (message.toolCallId) out.tool_call_id = message.toolCallId;
    if (message.name) out.name = message.name;
    return out;
  });
}

export const templateTools = (tools: readonly ToolSpec[]): Json[] =>
  tools.map((tool, i) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description ?? '', parameters: toolParameters(tool, i) },
  }));

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const TAGGED = /<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g;

function asCall(value: unknown, names: ReadonlySet<string>): ToolCall | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Json;
  const name = typeof v.name === 'string' ? v.name : undefined;
  const args = v.arguments ?? v.parameters ?? {};
  if (!name || !names.has(name) || typeof args !== 'object' || args === null || Array.isArray(args))
    return undefined;
  return { id: toolCallId(), name, arguments: JSON.stringify(args) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Calls in a model's output: `<tool_call>{...}</tool_call>` blocks (Hermes, Qwen), or an
 * output that is one call object or a list of them (`{"name": ..., "arguments"|"parameters":
 * ...}`, the Llama 3.1 and default formats). Only tools that were offered count; `content` is
 * the text outside the calls.
 */
export function parseToolCalls(
  output: string,
  tools: readonly ToolSpec[],
): { calls: ToolCall[]; content: string } {
  const names = new Set(tools.map((tool) => tool.name));
  const tagged = [...output.matchAll(TAGGED)];
  if (tagged.length > 0) {
    const calls = tagged.map((match) => asCall(parseJson(match[1] as string), names));
    if (calls.every((call) => call !== undefined)) {
      return { calls: calls as ToolCall[], content: output.replace(TAGGED, '').trim() };
    }
  }
  const whole = parseJson(output.trim());
  const list = Array.isArray(whole) ? whole : [whole];
  const calls = list.map((value) => asCall(value, names));
  if (list.length > 0 && calls.every((call) => call !== undefined))
    return { calls: calls as ToolCall[], content: '' };
  return { calls: [], content: output };
}

/**
 * Whether text streamed so far could still turn out to be a call, so it must be held back:
 * it opens (after whitespace) with `{`, `[`, or a prefix of `<tool_call>`.
 */
export function mayBeToolCall(text: string): boolean {
  const start = text.trimStart();
  if (start === '') return true;
  if (start[0] === '{' || start[0] === '[') return true;
  const tag = '<tool_call>';
  return start.length < tag.length ? tag.startsWith(start) : start.startsWith(tag);
}
