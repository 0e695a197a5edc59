import { randomBytes } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { ChatMessage, ToolCall, ToolChoice, ToolSpec } from '../types.js';
import { parsePythonCalls } from './python-call.js';

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
  const out: ChatMessage[] = [];
  // Turns made from tool results: they join the user turn beside them, so that a template that
  // wants roles to alternate (Gemma's, Llama 2's) takes several results, or a result and the
  // user's next words, as the one turn they are.
  const fromTool = new Set<ChatMessage>();
  for (const message of messages) {
    let turn: ChatMessage;
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const calls = message.toolCalls.map(callText).join('\n');
      turn = { role: 'assistant', content: message.content ? `${message.content}\n${calls}` : calls };
    } else if (message.role === 'tool') {
      const who = message.name ?? message.toolCallId ?? 'a tool';
      turn = { role: 'user', content: `Result of ${who}: ${message.content}` };
      fromTool.add(turn);
    } else
      turn = {
        role: message.role,
        content: message.content,
        ...(message.images?.length ? { images: message.images } : {}),
      };
    const previous = out.at(-1);
    if (previous?.role === 'user' && turn.role === 'user' && (fromTool.has(previous) || fromTool.has(turn))) {
      const content = `${previous.content}\n\n${turn.content}`;
      // The second turn's pictures keep their places in its text, now after the first's.
      const shift = previous.content.length + 2;
      const images = [
        ...(previous.images ?? []),
        ...(turn.images ?? []).map((image) => ({ ...image, at: (image.at ?? 0) + shift })),
      ];
      const merged: ChatMessage = { role: 'user', content, ...(images.length > 0 ? { images } : {}) };
      fromTool.add(merged);
      out[out.length - 1] = merged;
    } else out.push(turn);
  }
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
 * Markers models write before their calls, when the tokenizer leaves them in the text (most
 * tokenizers make them special tokens, which decoding drops): Llama 3.1's `<|python_tag|>`,
 * Mistral's `[TOOL_CALLS]`.
 */
const CALL_MARKERS = ['<|python_tag|>', '[TOOL_CALLS]'];
/** Gemma's function-calling format: Python calls in a ```tool_code fence. */
const TOOL_CODE = /^```tool_code\s*\n([\s\S]*?)\n?```\s*$/;
/** Mistral's newer format: `name[ARGS]{...}`, one after another. */
const MISTRAL_ARGS = /([A-Za-z_][\w.-]*)\[ARGS\]/g;

function withoutMarker(text: string): string {
  let out = text.trim();
  for (const marker of CALL_MARKERS) if (out.startsWith(marker)) out = out.slice(marker.length).trim();
  return out;
}

/** `get_weather[ARGS]{"city": "Paris"}get_time[ARGS]{}` as calls, or undefined. */
function mistralArgsCalls(text: string, names: ReadonlySet<string>): ToolCall[] | undefined {
  const heads = [...text.matchAll(MISTRAL_ARGS)];
  if (heads.length === 0 || heads[0]?.index !== 0) return undefined;
  const calls: ToolCall[] = [];
  for (const [i, head] of heads.entries()) {
    const start = (head.index ?? 0) + head[0].length;
    const end = heads[i + 1]?.index ?? text.length;
    const call = asCall({ name: head[1], arguments: parseJson(text.slice(start, end).trim()) }, names);
    if (!call) return undefined;
    calls.push(call);
  }
  return calls;
}

/**
 * Calls in a model's output, in each family's native format: `<tool_call>{...}</tool_call>`
 * blocks (Hermes, Qwen), with text around them kept as content; an output that is one call
 * object or a list of them (`{"name": ..., "arguments"|"parameters": ...}`: Llama 3.1, after
 * `<|python_tag|>` or not; Mistral's `[TOOL_CALLS][...]`; the default format); Mistral's
 * `[TOOL_CALLS]name[ARGS]{...}`; Gemma's ```tool_code fence of Python calls. Only tools that
 * were offered count; `content` is the text outside the calls.
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
  const body = withoutMarker(output);
  const whole = parseJson(body);
  const list = Array.isArray(whole) ? whole : [whole];
  const calls = list.map((value) => asCall(value, names));
  if (list.length > 0 && calls.every((call) => call !== undefined))
    return { calls: calls as ToolCall[], content: '' };
  const mistral = mistralArgsCalls(body, names);
  if (mistral) return { calls: mistral, content: '' };
  const fenced = TOOL_CODE.exec(body)?.[1] ?? (body.startsWith('[') ? body : undefined);
  const python = fenced === undefined ? undefined : parsePythonCalls(fenced);
  if (python) {
    const pythonCalls = python.map((call) => asCall({ name: call.name, arguments: call.args }, names));
    if (pythonCalls.every((call) => call !== undefined))
      return { calls: pythonCalls as ToolCall[], content: '' };
  }
  return { calls: [], content: output };
}

/**
 * Whether text streamed so far could still turn out to be a call, so it must be held back:
 * it opens (after whitespace) with `{`, `[`, or a prefix of `<tool_call>`, a call marker or
 * Gemma's ```tool_code fence.
 */
export function mayBeToolCall(text: string): boolean {
  const start = text.trimStart();
  if (start === '') return true;
  if (start[0] === '{' || start[0] === '[') return true;
  const opens = (tag: string, text: string) =>
    text.length < tag.length ? tag.startsWith(text) : text.startsWith(tag);
  if (['<tool_call>', ...CALL_MARKERS, '```tool_code'].some((tag) => opens(tag, start))) return true;
  // Mistral's `name[ARGS]` once its marker token is dropped: a first word held until what
  // follows it shows (one token's delay for ordinary text).
  const word = /^[A-Za-z_][\w.-]*/.exec(start)?.[0];
  return word !== undefined && (word === start || opens('[ARGS]', start.slice(word.length)));
}
