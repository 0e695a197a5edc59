import { type Metadata, type sendUnaryData, type ServerWritableStream, status } from '@grpc/grpc-js';
import { ErrorCode, toGrpcStatus, VmmError } from '@vmm/errors';
import type {
  ChatRequest as LlmChatRequest,
  GenerateRequest as LlmGenerateRequest,
  LlmRunner,
} from '@vmm/llm';
import {
  Backend,
  MatteOutput,
  type ChatRequest,
  type ClassifyRequest,
  type ClassifyResponse,
  type DetectRequest,
  type DetectResponse,
  type EmbedRequest,
  type EmbedResponse,
  type GenerateChunk,
  type GenerateRequest,
  type InferenceServer,
  type PoseRequest,
  type PoseResponse,
  type RemoveBackgroundRequest,
  type RemoveBackgroundResponse,
  type RequestContext,
  type SegmentRequest,
  type SegmentResponse,
} from '@vmm/proto';
import type { ModelTask } from '@vmm/runtime';
import type { VisionRunner } from '@vmm/vision';
import type { Logger } from 'pino';
import { requestIdOf, signalOf, toStatus, writeWithBackpressure } from './grpc-edge.js';
import type { Lease, ModelManager } from './model-manager.js';
import { withDefaultOptions, withDefaultSystem } from './model-defaults.js';
import { receiveUpload, type UnaryInput } from './upload-call.js';
import type { WorkerMetrics } from './worker-metrics.js';
import {
  chunkToProto,
  formatFromProto,
  messagesFromProto,
  samplingFromProto,
  thinkFromProto,
  toolChoiceFromProto,
  toolsFromProto,
  matteOutputFromProto,
  poseToProto,
  segmentToProto,
  visionTimingsToProto,
} from './proto-mapping.js';

export interface InferenceDeps {
  manager: ModelManager;
  metrics?: WorkerMetrics;
  /** The backend this worker serves (after any fallback). */
  backend: Backend;
  logger: Logger;
  /**
   * A message's limit: the most bytes an uploaded image may have (DetectUpload, …) and an answer
   * (a cut-out PNG) may carry.
   */
  maxImageBytes: number;
}

function checkPin(context: RequestContext | undefined, backend: Backend): void {
  const pinned = context?.backend ?? Backend.BACKEND_UNSPECIFIED;
  if (pinned !== Backend.BACKEND_UNSPECIFIED && pinned !== backend) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `the request is pinned to another backend than this worker's`,
      {
        field: 'context.backend',
      },
    );
  }
}

/** Room in an answer's message for what is not the PNG (size, timings, framing). */
const ANSWER_OVERHEAD_BYTES = 4096;

const visionTasks: readonly ModelTask[] = [
  'object-detection',
  'image-classification',
  'instance-segmentation',
  'pose-estimation',
  'background-removal',
];

type VisionMethod =
  | 'Detect'
  | 'Classify'
  | 'Segment'
  | 'Pose'
  | 'DetectUpload'
  | 'ClassifyUpload'
  | 'SegmentUpload'
  | 'PoseUpload'
  | 'RemoveBackground'
  | 'RemoveBackgroundUpload';

/** The detection options every detection head takes (Detect, Segment, Pose), from the wire. */
function detectOptionsFromProto(request: DetectRequest | SegmentRequest | PoseRequest) {
  const { confidenceThreshold, iouThreshold, maxDetections, classIds } = request;
  return {
    ...(confidenceThreshold === undefined ? {} : { confidenceThreshold }),
    ...(iouThreshold === undefined ? {} : { iouThreshold }),
    ...(maxDetections === undefined ? {} : { maxDetections }),
    classIds,
  };
}

/** Implements vmm.v1.Inference over the model manager's runners. */
export function createInferenceService({
  manager,
  backend,
  logger,
  metrics,
  maxImageBytes,
}: InferenceDeps): InferenceServer {
  const codeName = (error: unknown) =>
    status[toGrpcStatus(VmmError.from(error)).code ?? status.UNKNOWN] ?? 'UNKNOWN';
  async function stream(
    method: string,
    call: ServerWritableStream<GenerateRequest | ChatRequest, GenerateChunk>,
    run: (
      runner: LlmRunner,
      lease: Lease,
      signal: AbortSignal,
      startedAt: number,
    ) => AsyncIterable<Parameters<typeof chunkToProto>[0]>,
  ): Promise<void> {
    const startedAt = performance.now();
    const requestId = requestIdOf(call.request.context?.requestId, call.metadata);
    const signal = signalOf(call);
    let lease: Lease | undefined;
    try {
      checkPin(call.request.context, backend);
      const request = call.request;
      lease = await manager.acquire(request.model, {
        tasks: ['text-generation'],
        keepAliveMs: request.context?.keepAliveMs,
        signal,
        images:
          'messages' in request
            ? request.messages.some((m) => m.images.length > 0)
            : request.images.length > 0,
      });
      if (lease.model.kind !== 'llm')
        throw new VmmError(ErrorCode.Internal, 'text model without a text runner');
      for await (const chunk of run(lease.model.runner, lease, signal, startedAt)) {
        if (chunk.done)
          metrics?.tokens(lease.folder.name, chunk.done.promptTokens, chunk.done.completionTokens);
        if (call.cancelled) continue; // the runner ends within a step; nobody is listening
        await writeWithBackpressure(call, chunkToProto(chunk));
      }
      metrics?.call(method, call.cancelled ? 'CANCELLED' : 'OK');
      if (!call.cancelled) call.end();
    } catch (error) {
      metrics?.call(method, codeName(error));
      if (!call.cancelled) call.emit('error', toStatus(error, logger, requestId));
    } finally {
      lease?.release();
    }
  }

  /**
   * A unary call on a leased model: checks the pin and `check` (the request's own limits)
   * before any model is loaded, then runs on the lease, which is always released.
   */
  async function unary<Result>(
    method: string,
    call: UnaryInput<{ model: string; context?: RequestContext | undefined }>,
    callback: sendUnaryData<Result>,
    tasks: readonly ModelTask[],
    check: () => void,
    run: (lease: Lease, signal: AbortSignal) => Promise<Result>,
  ): Promise<void> {
    const requestId = requestIdOf(call.request.context?.requestId, call.metadata);
    const signal = signalOf(call);
    let lease: Lease | undefined;
    try {
      checkPin(call.request.context, backend);
      check();
      lease = await manager.acquire(call.request.model, {
        tasks,
        keepAliveMs: call.request.context?.keepAliveMs,
        signal,
      });
      callback(null, await run(lease, signal));
      metrics?.call(method, 'OK');
    } catch (error) {
      metrics?.call(method, codeName(error));
      callback(toStatus(error, logger, requestId));
    } finally {
      lease?.release();
    }
  }

  function vision<Result>(
    method: VisionMethod,
    call: UnaryInput<{ model: string; image: Uint8Array; context?: RequestContext | undefined }>,
    callback: sendUnaryData<Result>,
    run: (runner: VisionRunner, signal: AbortSignal, loadNs: number) => Promise<Result>,
  ): Promise<void> {
    const check = () => {
      if (call.request.image.byteLength === 0) {
        throw new VmmError(ErrorCode.InvalidArgument, 'image is required', { field: 'image' });
      }
    };
    return unary(method, call, callback, visionTasks, check, (lease, signal) => {
      if (lease.model.kind !== 'vision')
        throw new VmmError(ErrorCode.Internal, 'vision model without a vision runner');
      return run(lease.model.runner, signal, lease.loadNs);
    });
  }

  function embed(call: UnaryInput<EmbedRequest>, callback: sendUnaryData<EmbedResponse>): Promise<void> {
    const startedAt = performance.now();
    const { inputs, truncate, dimensions, maxTokens } = call.request;
    let items: (string | number[])[] = [];
    const check = () => {
      if (inputs.length === 0) {
        throw new VmmError(ErrorCode.InvalidArgument, 'input must hold at least one item', {
          field: 'input',
        });
      }
      items = inputs.map((input, i) => {
        if (input.text !== undefined) return input.text;
        if (input.tokens !== undefined) return [...input.tokens.ids];
        throw new VmmError(ErrorCode.InvalidArgument, `input[${i}] is neither text nor token ids`, {
          field: `input[${i}]`,
        });
      });
    };
    return unary('Embed', call, callback, ['embedding'], check, async (lease, signal) => {
      if (lease.model.kind !== 'embedding')
        throw new VmmError(ErrorCode.Internal, 'embedding model without an embedding runner');
      const result = await lease.model.runner.embed(
        items,
        {
          ...(truncate === undefined ? {} : { truncate }),
          ...(dimensions === undefined ? {} : { dimensions }),
          ...(maxTokens === undefined ? {} : { maxTokens }),
        },
        { signal },
      );
      return {
        embeddings: result.embeddings.map((vector) => ({ values: Array.from(vector) })),
        promptTokens: result.promptTokens,
        loadNs: lease.loadNs,
        totalNs: Math.round((performance.now() - startedAt) * 1e6),
      };
    });
  }

  function detect(
    method: 'Detect' | 'DetectUpload',
    call: UnaryInput<DetectRequest>,
    callback: sendUnaryData<DetectResponse>,
  ): Promise<void> {
    return vision(method, call, callback, async (runner, signal, loadNs) => {
      const result = await runner.detect(call.request.image, detectOptionsFromProto(call.request), {
        signal,
      });
      return {
        detections: result.detections,
        imageSize: result.imageSize,
        timings: visionTimingsToProto(result.timings, loadNs),
      };
    });
  }

  function segment(
    method: 'Segment' | 'SegmentUpload',
    call: UnaryInput<SegmentRequest>,
    callback: sendUnaryData<SegmentResponse>,
  ): Promise<void> {
    return vision(method, call, callback, async (runner, signal, loadNs) => {
      const result = await runner.segment(
        call.request.image,
        { ...detectOptionsFromProto(call.request), polygons: call.request.polygons },
        { signal },
      );
      return {
        segments: result.segments.map(segmentToProto),
        imageSize: result.imageSize,
        timings: visionTimingsToProto(result.timings, loadNs),
      };
    });
  }

  function pose(
    method: 'Pose' | 'PoseUpload',
    call: UnaryInput<PoseRequest>,
    callback: sendUnaryData<PoseResponse>,
  ): Promise<void> {
    return vision(method, call, callback, async (runner, signal, loadNs) => {
      const result = await runner.pose(call.request.image, detectOptionsFromProto(call.request), { signal });
      return {
        poses: result.poses.map(poseToProto),
        skeleton: result.skeleton.map(([from, to]) => ({ from, to })),
        imageSize: result.imageSize,
        timings: visionTimingsToProto(result.timings, loadNs),
      };
    });
  }

  function removeBackground(
    method: 'RemoveBackground' | 'RemoveBackgroundUpload',
    call: UnaryInput<RemoveBackgroundRequest>,
    callback: sendUnaryData<RemoveBackgroundResponse>,
  ): Promise<void> {
    return vision(method, call, callback, async (runner, signal, loadNs) => {
      const result = await runner.removeBackground(
        call.request.image,
        { output: matteOutputFromProto(call.request.output) },
        { signal },
      );
      const { mask } = result;
      // A cut-out of a large photo can outgrow a message: said plainly, not as gRPC's own
      // RESOURCE_EXHAUSTED (which would read as "try again later").
      const pngBytes = result.png?.byteLength ?? 0;
      if (pngBytes > maxImageBytes - ANSWER_OVERHEAD_BYTES) {
        throw new VmmError(
          ErrorCode.PayloadTooLarge,
          `the ${call.request.output === MatteOutput.MATTE_OUTPUT_MASK ? 'mask' : 'cut-out'} PNG is ${pngBytes} bytes, more than an answer may carry (${maxImageBytes}, VMM_MAX_MESSAGE_BYTES): ask for output rle, or send a smaller image`,
          { field: 'image' },
        );
      }
      return {
        png: result.png
          ? Buffer.from(result.png.buffer, result.png.byteOffset, result.png.byteLength)
          : Buffer.alloc(0),
        mask: mask
          ? { width: mask.size.width, height: mask.size.height, counts: mask.counts, area: mask.area }
          : undefined,
        foreground: result.foreground,
        imageSize: result.imageSize,
        timings: visionTimingsToProto(result.timings, loadNs),
      };
    });
  }

  function classify(
    method: 'Classify' | 'ClassifyUpload',
    call: UnaryInput<ClassifyRequest>,
    callback: sendUnaryData<ClassifyResponse>,
  ): Promise<void> {
    return vision(method, call, callback, async (runner, signal, loadNs) => {
      const topK = call.request.topK;
      const result = await runner.classify(call.request.image, topK === undefined ? {} : { topK }, {
        signal,
      });
      return {
        classes: result.classes,
        imageSize: result.imageSize,
        timings: visionTimingsToProto(result.timings, loadNs),
      };
    });
  }

  /** Answers an upload that was wrong before it was whole (see receiveUpload). */
  function refuseUpload<Result>(
    method: 'DetectUpload' | 'ClassifyUpload' | 'SegmentUpload' | 'PoseUpload' | 'RemoveBackgroundUpload',
    metadata: Metadata,
    callback: sendUnaryData<Result>,
  ): (error: VmmError) => void {
    return (error) => {
      metrics?.call(method, codeName(error));
      callback(toStatus(error, logger, requestIdOf(undefined, metadata)));
    };
  }

  return {
    generate(call) {
      void stream('Generate', call, (runner, lease, signal, startedAt) => {
        const { prompt, raw, options, format, contextTokens, images } = call.request;
        const stored = lease.folder.stored;
        const system = call.request.system ?? stored?.system;
        const outputFormat = formatFromProto(format);
        const request: LlmGenerateRequest = {
          prompt,
          raw,
          options: samplingFromProto(withDefaultOptions(options, stored?.parameters)),
          ...(system ? { system } : {}),
          ...(outputFormat ? { format: outputFormat } : {}),
          ...(contextTokens && contextTokens.ids.length > 0 ? { context: [...contextTokens.ids] } : {}),
          ...(images.length > 0 ? { images } : {}),
        };
        return runner.generate(request, { signal, startedAt, loadNs: lease.loadNs });
      });
    },

    chat(call) {
      void stream('Chat', call, (runner, lease, signal, startedAt) => {
        const outputFormat = formatFromProto(call.request.format);
        const stored = lease.folder.stored;
        const think = thinkFromProto(call.request.think);
        const request: LlmChatRequest = {
          messages: messagesFromProto(withDefaultSystem(call.request.messages, stored?.system)),
          options: samplingFromProto(withDefaultOptions(call.request.options, stored?.parameters)),
          ...(outputFormat ? { format: outputFormat } : {}),
          tools: toolsFromProto(call.request.toolUse?.tools),
          toolChoice: toolChoiceFromProto(call.request.toolUse?.choice),
          ...(think === undefined ? {} : { think }),
        };
        return namingModel(
          runner.chat(request, { signal, startedAt, loadNs: lease.loadNs }),
          lease.folder.name,
        );
      });
    },

    detect(call, callback) {
      void detect('Detect', call, callback);
    },

    detectUpload(call, callback) {
      receiveUpload(
        call,
        maxImageBytes,
        refuseUpload('DetectUpload', call.metadata, callback),
        (whole) => void detect('DetectUpload', whole, callback),
      );
    },

    embed(call, callback) {
      void embed(call, callback);
    },

    classify(call, callback) {
      void classify('Classify', call, callback);
    },

    classifyUpload(call, callback) {
      receiveUpload(
        call,
        maxImageBytes,
        refuseUpload('ClassifyUpload', call.metadata, callback),
        (whole) => void classify('ClassifyUpload', whole, callback),
      );
    },

    segment(call, callback) {
      void segment('Segment', call, callback);
    },

    segmentUpload(call, callback) {
      receiveUpload(
        call,
        maxImageBytes,
        refuseUpload('SegmentUpload', call.metadata, callback),
        (whole) => void segment('SegmentUpload', whole, callback),
      );
    },

    pose(call, callback) {
      void pose('Pose', call, callback);
    },

    removeBackground(call, callback) {
      void removeBackground('RemoveBackground', call, callback);
    },

    removeBackgroundUpload(call, callback) {
      receiveUpload(
        call,
        maxImageBytes,
        refuseUpload('RemoveBackgroundUpload', call.metadata, callback),
        (whole) => void removeBackground('RemoveBackgroundUpload', whole, callback),
      );
    },

    poseUpload(call, callback) {
      receiveUpload(
        call,
        maxImageBytes,
        refuseUpload('PoseUpload', call.metadata, callback),
        (whole) => void pose('PoseUpload', whole, callback),
      );
    },
  };
}

/** The engine's refusal of `think` (it knows no model names) said with the model's name. */
async function* namingModel<T>(chunks: AsyncIterable<T>, model: string): AsyncGenerator<T> {
  try {
    yield* chunks;
  } catch (error) {
    const refused = VmmError.from(error);
    if (refused.field !== 'think') throw error;
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `think: model "${model}" does not think (its chat template has no thinking); leave think out or false`,
      { field: 'think' },
    );
  }
}
