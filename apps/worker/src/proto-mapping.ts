import type {
  ChatMessage,
  GenerationChunk,
  OutputFormat,
  Role,
  SamplingOptions,
  ThinkSetting,
  TokenLogprob,
  ToolChoice,
  ToolSpec,
} from '@vmm/llm';
import {
  Backend,
  type ChatMessage as ProtoChatMessage,
  FinishReason,
  type GenerateChunk,
  type OutputFormat as ProtoOutputFormat,
  Role as ProtoRole,
  type SamplingOptions as ProtoSamplingOptions,
  Task,
  ThinkMode,
  type TokenLogprob as ProtoTokenLogprob,
  type Tool,
  type ToolChoice as ProtoToolChoice,
  ToolChoiceMode,
  MatteOutput,
  type Pose as ProtoPose,
  type Segment as ProtoSegment,
  type VisionTimings,
} from '@vmm/proto';
import type { Backend as RuntimeBackend, ModelTask } from '@vmm/runtime';
import type {
  MatteOutput as RunnerMatteOutput,
  Pose,
  VisionTimings as RunnerTimings,
  Segment,
} from '@vmm/vision';

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
  'instance-segmentation': Task.TASK_INSTANCE_SEGMENTATION,
  'pose-estimation': Task.TASK_POSE_ESTIMATION,
  'background-removal': Task.TASK_BACKGROUND_REMOVAL,
  embedding: Task.TASK_EMBEDDING,
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
export function messagesFromProto(messages: readonly ProtoChatMessage[]): ChatMessage[] {
  return messages.map((message) => ({
    role: roles[message.role] ?? ('unspecified' as Role),
    content: message.content,
    ...(message.toolCalls && message.toolCalls.calls.length > 0
      ? {
          toolCalls: message.toolCalls.calls.map((call) => ({
            id: call.id,
            name: call.name,
            arguments: call.argumentsJson,
          })),
        }
      : {}),
    ...(message.toolCallId ? { toolCallId: message.toolCallId } : {}),
    ...(message.name ? { name: message.name } : {}),
    ...(message.images.length > 0
      ? { images: message.images.map((image) => ({ data: image.data, at: image.at })) }
      : {}),
  }));
}

export function formatFromProto(format: ProtoOutputFormat | undefined): OutputFormat | undefined {
  if (format?.jsonSchema !== undefined) return { type: 'json_schema', schema: format.jsonSchema };
  if (format?.jsonObject) return { type: 'json' };
  return undefined;
}

export function toolsFromProto(tools: readonly Tool[] | undefined): ToolSpec[] {
  return (tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    ...(tool.parametersJson ? { parameters: tool.parametersJson } : {}),
  }));
}

/** `think` as the engine takes it; UNSPECIFIED leaves the model's default. */
export function thinkFromProto(mode: ThinkMode | undefined): ThinkSetting | undefined {
  switch (mode) {
    case ThinkMode.THINK_MODE_OFF:
      return false;
    case ThinkMode.THINK_MODE_ON:
      return true;
    case ThinkMode.THINK_MODE_LOW:
      return 'low';
    case ThinkMode.THINK_MODE_MEDIUM:
      return 'medium';
    case ThinkMode.THINK_MODE_HIGH:
      return 'high';
    default:
      return undefined;
  }
}

export function toolChoiceFromProto(choice: ProtoToolChoice | undefined): ToolChoice {
  switch (choice?.mode) {
    case ToolChoiceMode.TOOL_CHOICE_MODE_NONE:
      return 'none';
    case ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED:
      return 'required';
    case ToolChoiceMode.TOOL_CHOICE_MODE_FUNCTION:
      return { function: choice.function };
    default:
      return 'auto';
  }
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
  if (options.logitBias && Object.keys(options.logitBias.bias).length > 0)
    out.logitBias = { ...options.logitBias.bias };
  if (options.logprobs !== undefined) out.logprobs = options.logprobs;
  if (options.topLogprobs !== undefined) out.topLogprobs = options.topLogprobs;
  return out;
}

const finishReasons = {
  stop: FinishReason.FINISH_REASON_STOP,
  length: FinishReason.FINISH_REASON_LENGTH,
  cancelled: FinishReason.FINISH_REASON_CANCELLED,
  tool_calls: FinishReason.FINISH_REASON_TOOL_CALLS,
} as const;

const logprobToProto = (logprob: TokenLogprob): ProtoTokenLogprob => ({
  tokenId: logprob.tokenId,
  token: logprob.token,
  logprob: logprob.logprob,
  bytes: Buffer.from(logprob.bytes),
  top: logprob.top.map((top) => ({ ...top, bytes: Buffer.from(top.bytes) })),
});

export function chunkToProto(chunk: GenerationChunk): GenerateChunk {
  const done = chunk.done;
  return {
    text: chunk.text,
    ...(chunk.thinking ? { thinking: chunk.thinking } : {}),
    tokenIds: chunk.tokenIds,
    ...(chunk.logprobs ? { logprobs: { tokens: chunk.logprobs.map(logprobToProto) } } : {}),
    done: done
      ? {
          finishReason: finishReasons[done.finishReason],
          usage: { promptTokens: done.promptTokens, completionTokens: done.completionTokens },
          timings: done.timings,
          stopSequence: done.stopSequence,
          ...(done.toolCalls
            ? {
                toolCalls: {
                  calls: done.toolCalls.map((call) => ({
                    id: call.id,
                    name: call.name,
                    argumentsJson: call.arguments,
                  })),
                },
              }
            : {}),
          ...(done.context ? { context: { ids: done.context } } : {}),
        }
      : undefined,
  };
}

export function visionTimingsToProto(timings: RunnerTimings, loadNs: number): VisionTimings {
  return { loadNs, ...timings, totalNs: timings.totalNs + loadNs };
}

export function segmentToProto({ box, classId, label, score, mask, polygons }: Segment): ProtoSegment {
  return {
    detection: { box, classId, label, score },
    mask: { width: mask.size.width, height: mask.size.height, counts: mask.counts, area: mask.area },
    polygons: (polygons ?? []).map((points) => ({ points })),
  };
}

export function poseToProto({ box, classId, label, score, keypoints }: Pose): ProtoPose {
  return { detection: { box, classId, label, score }, keypoints };
}

/** Unspecified is a cut-out; a value from a newer client is refused by the runner, naming the field. */
export function matteOutputFromProto(output: MatteOutput): RunnerMatteOutput {
  switch (output) {
    case MatteOutput.MATTE_OUTPUT_UNSPECIFIED:
    case MatteOutput.MATTE_OUTPUT_CUTOUT:
      return 'cutout';
    case MatteOutput.MATTE_OUTPUT_MASK:
      return 'mask';
    case MatteOutput.MATTE_OUTPUT_RLE:
      return 'rle';
    default:
      return `unknown (${String(output)})` as RunnerMatteOutput;
  }
}
