import {
  FinishReason,
  type GenerateChunk,
  type ModelInfo,
  type RequestContext,
  Role,
  type SamplingOptions,
  Task,
  ThinkMode,
  type TokenLogprob,
  type ToolCall,
} from '@vmm/proto';
import { ErrorCode, VmmError } from '@vmm/errors';
import { z } from 'zod';
import { ollamaImages, ollamaMessageImages } from './chat-images.js';
import { backendField, keepAliveField, stopList } from './common.js';
import { float32, safeInt, uint32, UINT32_MAX } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';
import {
  logprobEntries,
  MAX_TOOLS,
  MAX_TOP_LOGPROBS,
  neutralOnly,
  ollamaFormat,
  ollamaToolCalls,
  toolCallsToProto,
  toolChoiceToProto,
  toolSchema,
  toolsToProto,
} from './text-fields.js';
import type { TextJob } from './text-job.js';
import { unsupportedField } from './validation.js';

// Ollama's API (docs/api.md in ollama/ollama): request and response shapes as its clients use them.

// Tolerance follows Ollama's (docs/api.md, "Unknown fields"): the schemas list what VMM honours,
// and the gateway parses them with parseLenientBody, so a field they do not know is ignored and
// named in X-VMM-Ignored, as Ollama ignores it. Fields that Ollama honours and VMM cannot are
// accepted only at the value that changes nothing.

export const ollamaOptionsSchema = z.strictObject({
  temperature: float32({ min: 0 }).optional(),
  top_k: uint32().optional(),
  top_p: float32({ min: 0, max: 1 }).optional(),
  min_p: float32({ min: 0, max: 1 }).optional(),
  repeat_penalty: float32().positive().optional(),
  repeat_last_n: safeInt({ min: -1, max: UINT32_MAX }).optional(),
  presence_penalty: float32().optional(),
  frequency_penalty: float32().optional(),
  // Negative: a random seed.
  seed: safeInt().optional(),
  stop: stopList.optional(),
  num_predict: safeInt({ min: -2, max: UINT32_MAX }).optional(),
  num_ctx: uint32({ min: 1 }).optional(),
  backend: backendField,
  // A sampler Ollama has and VMM does not, at the value that turns it off. (Ollama dropped
  // mirostat, tfs_z and penalize_newline: like its runner options, num_gpu, num_thread, …, they
  // are unknown here and ignored.)
  typical_p: z.number().optional(),
});

/** Options that only take their neutral value. */
function checkNeutralOptions(o: z.infer<typeof ollamaOptionsSchema> | undefined): void {
  neutralOnly(
    'options.typical_p',
    o?.typical_p,
    [1],
    'locally typical sampling is not implemented; leave it at 1',
  );
}

const logprobFields = {
  logprobs: z.boolean().optional(),
  top_logprobs: safeInt({ min: 0, max: MAX_TOP_LOGPROBS }).optional(),
};

const common = {
  model: z.string().min(1),
  stream: z.boolean().optional(),
  format: z.unknown().optional(),
  keep_alive: keepAliveField,
  options: ollamaOptionsSchema.optional(),
  // Thinking models (a chat template with a thinking switch, or <think> tags): on, off or a
  // level, through the template's own switch; the thought comes back as `message.thinking`.
  think: z.union([z.boolean(), z.enum(['low', 'medium', 'high'])]).optional(),
  ...logprobFields,
  // Not Ollama's (Ollama ignores them), but sent at the top level by ollama-ai-provider-v2, the AI
  // SDK's Ollama provider: VMM can honour them, so it does, under the same names in `options`.
  max_output_tokens: uint32({ min: 1 }).optional(),
  max_tokens: uint32({ min: 1 }).optional(),
  temperature: ollamaOptionsSchema.shape.temperature,
  top_p: ollamaOptionsSchema.shape.top_p,
  presence_penalty: ollamaOptionsSchema.shape.presence_penalty,
  frequency_penalty: ollamaOptionsSchema.shape.frequency_penalty,
  stop: ollamaOptionsSchema.shape.stop,
};

export const ollamaGenerateSchema = z.strictObject({
  ...common,
  prompt: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  suffix: z.string().optional(),
  template: z.string().optional(),
  context: z
    .array(safeInt({ min: 0, max: UINT32_MAX }))
    .max(1_000_000)
    .optional(),
  images: ollamaImages,
});

const ollamaToolCall = z.strictObject({
  id: z.string().optional(),
  function: z.strictObject({
    index: z.number().optional(),
    name: z.string().min(1),
    arguments: z.record(z.string(), z.unknown()),
  }),
});

export const ollamaChatSchema = z.strictObject({
  ...common,
  messages: z
    .array(
      z
        .strictObject({
          role: z.enum(['system', 'user', 'assistant', 'tool']),
          content: z.string().optional(),
          images: ollamaImages,
          tool_calls: z.array(ollamaToolCall).max(MAX_TOOLS).optional(),
          tool_name: z.string().optional(),
          // `thinking` (a thinking model's earlier reasoning) is unknown here: the models VMM
          // serves have no template slot for it, so it is ignored, as Ollama's templates do.
        })
        // Only an assistant turn that made calls may leave its content out.
        .refine((message) => message.content !== undefined || (message.tool_calls?.length ?? 0) > 0, {
          message: 'content is required',
          path: ['content'],
        }),
    )
    // No messages: Ollama's call to load (or, with keep_alive 0, unload) the model.
    .max(MAX_MESSAGES),
  tools: z.array(toolSchema).max(MAX_TOOLS).optional(),
  // Not Ollama's (it ignores it); sent by ollama-ai-provider-v2 in OpenAI Responses' shape or
  // Chat Completions' shape. Honoured by the constrained decoder (required, named, none).
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.strictObject({ type: z.literal('function'), name: z.string().min(1) }),
      z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
    ])
    .optional(),
});

export type OllamaGenerateBody = z.infer<typeof ollamaGenerateSchema>;
export type OllamaChatBody = z.infer<typeof ollamaChatSchema>;

export function ollamaSampling(
  o: z.infer<typeof ollamaOptionsSchema> | undefined,
  logprobs: { logprobs?: boolean | undefined; top_logprobs?: number | undefined } = {},
): SamplingOptions {
  checkNeutralOptions(o);
  const out: SamplingOptions = { stop: o?.stop ?? [] };
  if (logprobs.logprobs) {
    out.logprobs = true;
    out.topLogprobs = logprobs.top_logprobs ?? 0;
  } else if (logprobs.top_logprobs) {
    throw new VmmError(ErrorCode.InvalidArgument, 'top_logprobs needs logprobs: true', {
      field: 'top_logprobs',
    });
  }
  if (!o) return out;
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.top_k !== undefined) out.topK = o.top_k;
  if (o.top_p !== undefined) out.topP = o.top_p;
  if (o.min_p !== undefined) out.minP = o.min_p;
  if (o.repeat_penalty !== undefined) out.repetitionPenalty = o.repeat_penalty;
  if (o.repeat_last_n !== undefined && o.repeat_last_n >= 0) out.repeatLastN = o.repeat_last_n;
  if (o.presence_penalty !== undefined) out.presencePenalty = o.presence_penalty;
  if (o.frequency_penalty !== undefined) out.frequencyPenalty = o.frequency_penalty;
  if (o.seed !== undefined && o.seed >= 0) out.seed = o.seed;
  // -1: until the context is full; -2: fill the context. Both mean "no limit" here.
  if (o.num_predict !== undefined && o.num_predict > 0) out.maxTokens = o.num_predict;
  if (o.num_ctx !== undefined) out.contextSize = o.num_ctx;
  return out;
}

/** Generate takes no `think` (a chat's template carries it): only `false`, which changes nothing. */
function checkGenerateThink(think: OllamaChatBody['think']): void {
  if (think !== undefined && think !== false) {
    throw unsupportedField(
      'think',
      "think is taken by /api/chat, where the model's template switches thinking",
    );
  }
}

/** Ollama's `think` as the contract carries it. */
export function thinkToProto(think: boolean | 'low' | 'medium' | 'high' | undefined): ThinkMode | undefined {
  if (think === undefined) return undefined;
  if (think === true) return ThinkMode.THINK_MODE_ON;
  if (think === false) return ThinkMode.THINK_MODE_OFF;
  return {
    low: ThinkMode.THINK_MODE_LOW,
    medium: ThinkMode.THINK_MODE_MEDIUM,
    high: ThinkMode.THINK_MODE_HIGH,
  }[think];
}

/** `options` with the top-level sampling fields some clients send filled in under it (options win). */
function mergedOptions(body: OllamaGenerateBody | OllamaChatBody): z.infer<typeof ollamaOptionsSchema> {
  const topLevel = {
    num_predict: body.max_tokens ?? body.max_output_tokens,
    temperature: body.temperature,
    top_p: body.top_p,
    presence_penalty: body.presence_penalty,
    frequency_penalty: body.frequency_penalty,
    stop: body.stop,
  };
  const defined = Object.fromEntries(Object.entries(topLevel).filter(([, value]) => value !== undefined));
  return { ...defined, ...body.options };
}

/** tool_choice in the shape the contract's mapping takes; a call asked for needs tools to call. */
function ollamaToolChoice(body: OllamaChatBody, toolCount: number) {
  const choice = body.tool_choice;
  if (toolCount === 0 && (choice === 'required' || typeof choice === 'object')) {
    throw new VmmError(ErrorCode.InvalidArgument, 'tool_choice asks for a call but no tools were given', {
      field: 'tool_choice',
    });
  }
  if (typeof choice !== 'object') return toolChoiceToProto(choice);
  const name = 'name' in choice ? choice.name : choice.function.name;
  return toolChoiceToProto({ type: 'function', function: { name } });
}

export function ollamaTextJob(body: OllamaGenerateBody | OllamaChatBody, context: RequestContext): TextJob {
  if (!('messages' in body)) checkGenerateThink(body.think);
  const format = ollamaFormat(body.format);
  const options = ollamaSampling(mergedOptions(body), body);
  if ('messages' in body) {
    const tools = toolsToProto(body.tools);
    const choice = ollamaToolChoice(body, tools.length);
    return {
      kind: 'chat',
      request: {
        model: body.model,
        messages: body.messages.map((m, i) => ({
          role: Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
          content: m.content ?? '',
          images: ollamaMessageImages(m.images, `messages.${i}.images`),
          ...toolCallsToProto(
            m.tool_calls?.map((call) => ({
              id: call.id ?? '',
              name: call.function.name,
              arguments: JSON.stringify(call.function.arguments),
            })),
          ),
          ...(m.tool_name ? { name: m.tool_name } : {}),
        })),
        options,
        context,
        ...(format ? { format } : {}),
        ...(tools.length > 0 ? { toolUse: { tools, choice } } : {}),
        ...(body.think === undefined ? {} : { think: thinkToProto(body.think) }),
      },
    };
  }
  if (body.suffix) {
    throw unsupportedField(
      'suffix',
      'fill-in-the-middle needs a model with infill tokens; the models VMM serves have none',
    );
  }
  if (body.template) {
    throw unsupportedField(
      'template',
      "VMM renders the model's own chat template; send raw: true with a prompt you formatted instead",
    );
  }
  return {
    kind: 'generate',
    request: {
      model: body.model,
      prompt: body.prompt ?? '',
      system: body.system,
      raw: body.raw ?? false,
      options,
      context,
      ...(format ? { format } : {}),
      ...(body.context?.length ? { contextTokens: { ids: body.context } } : {}),
      images: ollamaMessageImages(body.images, 'images').map((image) => image.data),
    },
  };
}

const doneReasons: Readonly<Partial<Record<FinishReason, string>>> = {
  [FinishReason.FINISH_REASON_STOP]: 'stop',
  [FinishReason.FINISH_REASON_LENGTH]: 'length',
  [FinishReason.FINISH_REASON_CANCELLED]: 'cancelled',
  // Ollama ends a turn of tool calls with "stop".
  [FinishReason.FINISH_REASON_TOOL_CALLS]: 'stop',
};

/**
 * The text part of a chunk: `response` for generate, `message` for chat (with any tool calls,
 * and a thinking model's thought as `thinking`).
 */
export function ollamaPiece(chat: boolean, text: string, toolCalls: readonly ToolCall[] = [], thinking = '') {
  if (!chat) return { response: text };
  return {
    message: {
      role: 'assistant',
      content: text,
      ...(thinking ? { thinking } : {}),
      ...(toolCalls.length > 0 ? { tool_calls: ollamaToolCalls(toolCalls) } : {}),
    },
  };
}

/** Ollama's final fields, from the last chunk of a stream. */
export function ollamaFinalStats(chunk: GenerateChunk) {
  const done = chunk.done;
  return {
    done: true,
    done_reason: done ? (doneReasons[done.finishReason] ?? 'stop') : 'stop',
    total_duration: done?.timings?.totalNs ?? 0,
    load_duration: done?.timings?.loadNs ?? 0,
    prompt_eval_count: done?.usage?.promptTokens ?? 0,
    prompt_eval_duration: done?.timings?.promptEvalNs ?? 0,
    eval_count: done?.usage?.completionTokens ?? 0,
    eval_duration: done?.timings?.evalNs ?? 0,
    ...(done?.context ? { context: done.context.ids } : {}),
  };
}

/** The one-object answer of `stream: false`. */
export function ollamaResponse(
  model: string,
  chat: boolean,
  text: string,
  last: GenerateChunk,
  logprobs: readonly TokenLogprob[] | undefined,
  createdAt = new Date(),
  thinking = '',
) {
  return {
    model,
    created_at: createdAt.toISOString(),
    ...ollamaPiece(chat, text, last.done?.toolCalls?.calls, thinking),
    ...(logprobs ? { logprobs: logprobEntries(logprobs) } : {}),
    ...ollamaFinalStats(last),
  };
}

const taskNames: Readonly<Partial<Record<Task, string>>> = {
  [Task.TASK_TEXT_GENERATION]: 'text-generation',
  [Task.TASK_OBJECT_DETECTION]: 'object-detection',
  [Task.TASK_IMAGE_CLASSIFICATION]: 'image-classification',
  [Task.TASK_INSTANCE_SEGMENTATION]: 'instance-segmentation',
  [Task.TASK_POSE_ESTIMATION]: 'pose-estimation',
  [Task.TASK_BACKGROUND_REMOVAL]: 'background-removal',
  [Task.TASK_EMBEDDING]: 'embedding',
};

/** The names a model's task is listed under (`details.task`), and `unknown` for any other. */
export const TASK_NAMES: readonly string[] = [...Object.values(taskNames), 'unknown'];

export function taskName(task: Task): string {
  return taskNames[task] ?? 'unknown';
}

export function ollamaDetails(model: ModelInfo) {
  return {
    parent_model: '',
    format: model.details?.format ?? 'onnx',
    family: model.details?.family ?? '',
    families: [model.details?.family ?? ''],
    parameter_size: model.details?.parameterSize ?? '',
    quantization_level: model.details?.quantizationLevel ?? '',
    task: taskName(model.task),
  };
}

export function ollamaTag(model: ModelInfo) {
  return {
    name: model.name,
    model: model.name,
    modified_at: new Date(model.modifiedAtMs).toISOString(),
    size: model.sizeBytes,
    digest: model.digest.replace(/^sha256:/, ''),
    details: ollamaDetails(model),
  };
}
