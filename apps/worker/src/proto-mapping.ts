import type { ChatMessage, GenerationChunk, Role, SamplingOptions } from '@vmm/llm';
import {
  Backend,
  FinishReason,
  type GenerateChunk,
  Role as ProtoRole,
  type SamplingOptions as ProtoSamplingOptions,
  Task,
  type VisionTimings,
} from '@vmm/proto';
import type { Backend as RuntimeBackend, ModelTask } from '@vmm/runtime';
import type { VisionTimings as RunnerTimings } from '@vmm/vision';

// Translations between the generated wire types and the runners' own types, in one place.

export const backendToProto: Readonly<Record<RuntimeBackend, Backend>> = {
  cpu: Backend.BACKEND_CPU,
  cuda: Backend.BACKEND_CUDA,
  openvino: Backend.BACKEND_OPENVINO,
};

export const taskToProto: Readonly<Record<ModelTask, Task>> = {
  'text-generation': Task.TASK_TEXT_GENERATION,
  'object-detection': Task.TASK_OBJECT_DETECTION,
  'image-classification': Task.TASK_IMAGE_CLASSIFICATION,
};

export function taskFromProto(task: Task): ModelTask | undefined {
  return (Object.entries(taskToProto) as [ModelTask, Task][]).find(([, value]) => value === task)?.[0];
}

const roles: Readonly<Partial<Record<ProtoRole, Role>>> = {
  [ProtoRole.ROLE_SYSTEM]: 'system',
  [ProtoRole.ROLE_USER]: 'user',
  [ProtoRole.ROLE_ASSISTANT]: 'assistant',
  [ProtoRole.ROLE_TOOL]: 'tool',
};

/** ROLE_UNSPECIFIED (or a role from a newer client) passes as "unspecified" and is refused by the runner, naming the message. */
export function messagesFromProto(messages: readonly { role: ProtoRole; content: string }[]): ChatMessage[] {
  return messages.map((message) => ({
    role: roles[message.role] ?? ('unspecified' as Role),
    content: message.content,
  }));
}

export function samplingFromProto(options: ProtoSamplingOptions | undefined): SamplingOptions {
  if (!options) return {};
  const out: SamplingOptions = {};
  const copy = <K extends keyof SamplingOptions & keyof ProtoSamplingOptions>(key: K) => {
    if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  };
  for (const key of [
    'temperature',
    'topK',
    'topP',
    'minP',
    'repetitionPenalty',
    'repeatLastN',
    'presencePenalty',
    'frequencyPenalty',
    'seed',
    'maxTokens',
    'contextSize',
  ] as const) {
    copy(key);
  }
  if (options.stop.length > 0) out.stop = [...options.stop];
  return out;
}

const finishReasons = {
  stop: FinishReason.FINISH_REASON_STOP,
  length: FinishReason.FINISH_REASON_LENGTH,
  cancelled: FinishReason.FINISH_REASON_CANCELLED,
} as const;

export function chunkToProto(chunk: GenerationChunk): GenerateChunk {
  const done = chunk.done;
  return {
    text: chunk.text,
    tokenIds: chunk.tokenIds,
    done: done
      ? {
          finishReason: finishReasons[done.finishReason],
          usage: { promptTokens: done.promptTokens, completionTokens: done.completionTokens },
          timings: done.timings,
          stopSequence: done.stopSequence,
        }
      : undefined,
  };
}

export function visionTimingsToProto(timings: RunnerTimings, loadNs: number): VisionTimings {
  return { loadNs, ...timings, totalNs: timings.totalNs + loadNs };
}
