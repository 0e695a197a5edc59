import {
  FinishReason,
  type GenerateChunk,
  type ModelInfo,
  type RequestContext,
  Role,
  type SamplingOptions,
  Task,
} from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField, stopList } from './common.js';
import { float32, safeInt, uint32, UINT32_MAX } from './proto-range.js';
import { MAX_MESSAGES } from './text-limits.js';
import type { TextJob } from './text-job.js';

// Ollama's API (docs/api.md in ollama/ollama): request and response shapes as its clients use them.

export const ollamaOptionsSchema = z
  .object({
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
  })
  .loose();

const common = {
  model: z.string().min(1),
  stream: z.boolean().optional(),
  format: z.unknown().optional(),
  keep_alive: keepAliveField,
  options: ollamaOptionsSchema.optional(),
};
const noImages = z.array(z.string()).max(0, 'images are not supported by text models here').optional();

export const ollamaGenerateSchema = z.object({
  ...common,
  prompt: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  suffix: z.string().optional(),
  images: noImages,
});

export const ollamaChatSchema = z.object({
  ...common,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'user', 'assistant', 'tool']),
        content: z.string(),
        images: noImages,
      }),
    )
    // No messages: Ollama's call to load (or, with keep_alive 0, unload) the model.
    .max(MAX_MESSAGES),
});

export type OllamaGenerateBody = z.infer<typeof ollamaGenerateSchema>;
export type OllamaChatBody = z.infer<typeof ollamaChatSchema>;

export function ollamaSampling(o: z.infer<typeof ollamaOptionsSchema> | undefined): SamplingOptions {
  const out: SamplingOptions = { stop: o?.stop ?? [] };
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

export function ollamaTextJob(body: OllamaGenerateBody | OllamaChatBody, context: RequestContext): TextJob {
  if ('messages' in body) {
    return {
      kind: 'chat',
      request: {
        model: body.model,
        messages: body.messages.map((m) => ({
          role: Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
          content: m.content,
        })),
        options: ollamaSampling(body.options),
        context,
      },
    };
  }
  return {
    kind: 'generate',
    request: {
      model: body.model,
      prompt: body.prompt ?? '',
      system: body.system,
      raw: body.raw ?? false,
      options: ollamaSampling(body.options),
      context,
    },
  };
}

const doneReasons: Readonly<Partial<Record<FinishReason, string>>> = {
  [FinishReason.FINISH_REASON_STOP]: 'stop',
  [FinishReason.FINISH_REASON_LENGTH]: 'length',
  [FinishReason.FINISH_REASON_CANCELLED]: 'cancelled',
};

/** The text part of a chunk: `response` for generate, `message` for chat. */
export function ollamaPiece(chat: boolean, text: string) {
  return chat ? { message: { role: 'assistant', content: text } } : { response: text };
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
  };
}

/** The one-object answer of `stream: false`. */
export function ollamaResponse(
  model: string,
  chat: boolean,
  text: string,
  last: GenerateChunk,
  createdAt = new Date(),
) {
  return {
    model,
    created_at: createdAt.toISOString(),
    ...ollamaPiece(chat, text),
    ...ollamaFinalStats(last),
  };
}

const taskNames: Readonly<Partial<Record<Task, string>>> = {
  [Task.TASK_TEXT_GENERATION]: 'text-generation',
  [Task.TASK_OBJECT_DETECTION]: 'object-detection',
  [Task.TASK_IMAGE_CLASSIFICATION]: 'image-classification',
};

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
