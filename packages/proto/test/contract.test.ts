// The vmm.v1 contract over real gRPC on loopback: an in-test server typed by the generated
// `InferenceServer` / `ModelsServer` interfaces, called with the generated clients.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Server,
  ServerCredentials,
  credentials,
  status,
  type ServerWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { ErrorCode, VmmError, fromGrpcError, toGrpcStatus } from '@vmm/errors';
import {
  Backend,
  DetectRequest,
  FinishReason,
  InferenceClient,
  InferenceService,
  ModelsClient,
  ModelsService,
  MatteOutput,
  PoseRequest,
  type PoseResponse,
  RemoveBackgroundRequest,
  type RemoveBackgroundResponse,
  Role,
  SegmentRequest,
  type SegmentResponse,
  Task,
  ToolChoiceMode,
  type ChatRequest,
  type EmbedRequest,
  type GenerateChunk,
  type GenerateRequest,
  type InferenceServer,
  type ModelsServer,
} from '../src/index.js';

/** What the in-test server saw of each streaming call, by request id. */
interface StreamRecord {
  written: number;
  cancelled: boolean;
  ended: Promise<void>;
}

const records = new Map<string, StreamRecord>();
const received: { generate?: GenerateRequest; chat?: ChatRequest; embed?: EmbedRequest } = {};

/**
 * Streams `count` chunks of one token each, or — for prompt "forever" — one chunk every
 * 10 ms until the call is cancelled (bounded at 1000 so a broken test cannot hang).
 */
function streamTokens(
  call: ServerWritableStream<GenerateRequest | ChatRequest, GenerateChunk>,
  forever: boolean,
  count: number,
): void {
  const requestId = call.request.context?.requestId ?? '';
  let finish: () => void = () => undefined;
  const record: StreamRecord = {
    written: 0,
    cancelled: false,
    ended: new Promise((resolve) => (finish = resolve)),
  };
  records.set(requestId, record);
  call.on('cancelled', () => {
    record.cancelled = true;
  });
  const limit = forever ? 1000 : count;
  const timer = setInterval(() => {
    if (record.cancelled || record.written >= limit) {
      clearInterval(timer);
      if (!record.cancelled) {
        call.write({
          text: '',
          tokenIds: [],
          done: {
            finishReason: FinishReason.FINISH_REASON_LENGTH,
            usage: { promptTokens: 7, completionTokens: record.written },
            timings: {
              loadNs: 1,
              promptEvalNs: 2_000_000,
              evalNs: 3_000_000_000,
              totalNs: 4_000_000_001,
              queueNs: 0,
            },
            stopSequence: undefined,
          },
        });
        call.end();
      }
      finish();
      return;
    }
    record.written += 1;
    call.write({ text: ` tok${record.written}`, tokenIds: [100 + record.written], done: undefined });
  }, 10);
}

const SEGMENT_ANSWER: SegmentResponse = {
  segments: [
    {
      detection: { box: { x1: 1, y1: 2, x2: 3, y2: 4 }, classId: 7, label: 'cat', score: 0.5 },
      mask: { width: 4, height: 5, counts: [6, 2, 3, 2, 7], area: 4 },
      polygons: [{ points: [1, 2, 3, 2, 3, 4, 1, 4] }],
    },
  ],
  imageSize: { width: 4, height: 5 },
  timings: { loadNs: 0, decodeNs: 1, preprocessNs: 2, inferenceNs: 3, postprocessNs: 4, totalNs: 10 },
};

const POSE_ANSWER: PoseResponse = {
  poses: [
    {
      detection: { box: { x1: 1, y1: 2, x2: 3, y2: 4 }, classId: 0, label: 'person', score: 0.75 },
      keypoints: [
        { name: 'nose', x: 2, y: 2.5, score: 0.5 },
        { name: 'left_eye', x: 2.25, y: 2.25, score: 0.25 },
      ],
    },
  ],
  skeleton: [{ from: 0, to: 1 }],
  imageSize: { width: 10, height: 10 },
  timings: undefined,
};

const inference: InferenceServer = {
  generate(call) {
    received.generate = call.request;
    if (call.request.model === 'missing') {
      call.emit(
        'error',
        toGrpcStatus(new VmmError(ErrorCode.NotFound, 'model "missing" not found', { field: 'model' })),
      );
      return;
    }
    streamTokens(call, call.request.prompt === 'forever', call.request.options?.maxTokens ?? 5);
  },
  chat(call) {
    received.chat = call.request;
    streamTokens(call, false, 2);
  },
  detect(call, callback) {
    const { image, confidenceThreshold } = call.request;
    if (confidenceThreshold !== undefined && (confidenceThreshold < 0 || confidenceThreshold > 1)) {
      callback(
        toGrpcStatus(
          new VmmError(ErrorCode.InvalidArgument, 'confidence_threshold must be in [0, 1]', {
            field: 'confidence_threshold',
          }),
        ),
      );
      return;
    }
    callback(null, {
      detections: [
        { box: { x1: 1.5, y1: 2.5, x2: 30.25, y2: 40.75 }, classId: 2, label: 'blue', score: 0.875 },
      ],
      // Echo facts about the bytes so the test can see they crossed intact.
      imageSize: { width: image.length, height: image.reduce((sum, byte) => (sum + byte) % 65_536, 0) },
      timings: { loadNs: 0, decodeNs: 1, preprocessNs: 2, inferenceNs: 3, postprocessNs: 4, totalNs: 10 },
    });
  },
  classify(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.ResourceExhausted, 'queue full', { retryAfterMs: 1500 })));
  },
  detectUpload(call, callback) {
    // Echo the upload's shape: its pieces in order, then the request last.
    const pieces: Buffer[] = [];
    let model = '';
    call.on('data', (part: { imageChunk?: Buffer; request?: { model: string } }) => {
      if (part.imageChunk) pieces.push(part.imageChunk);
      else if (part.request) model = `${part.request.model} after ${pieces.length} pieces`;
    });
    call.on('end', () => {
      const image = Buffer.concat(pieces);
      callback(null, {
        detections: [{ box: { x1: 0, y1: 0, x2: 1, y2: 1 }, classId: 0, label: model, score: 1 }],
        imageSize: { width: image.length, height: image.reduce((sum, byte) => (sum + byte) % 65_536, 0) },
        timings: undefined,
      });
    });
  },
  classifyUpload(call, callback) {
    call.on('data', () => undefined);
    call.on('end', () => callback(null, { classes: [], imageSize: undefined, timings: undefined }));
  },
  segment(call, callback) {
    // Echo the request's outline flag as the number of outlines.
    callback(null, {
      ...SEGMENT_ANSWER,
      segments: SEGMENT_ANSWER.segments.map((s) => ({
        ...s,
        polygons: call.request.polygons ? s.polygons : [],
      })),
    });
  },
  segmentUpload(call, callback) {
    call.on('data', () => undefined);
    call.on('end', () => callback(null, SEGMENT_ANSWER));
  },
  pose(_call, callback) {
    callback(null, POSE_ANSWER);
  },
  removeBackground(call, callback) {
    // Echo the output asked for in the PNG's bytes.
    callback(null, {
      png: Buffer.from([0x89, call.request.output]),
      mask: undefined,
      foreground: 0.25,
      imageSize: { width: 2, height: 2 },
      timings: undefined,
    });
  },
  removeBackgroundUpload(call, callback) {
    call.on('data', () => undefined);
    call.on('end', () =>
      callback(null, {
        png: Buffer.alloc(0),
        mask: { width: 2, height: 2, counts: [1, 3], area: 3 },
        foreground: 0.75,
        imageSize: { width: 2, height: 2 },
        timings: undefined,
      }),
    );
  },
  poseUpload(call, callback) {
    let pieces = 0;
    call.on('data', (part: { imageChunk?: Buffer }) => (pieces += part.imageChunk ? 1 : 0));
    call.on('end', () => callback(null, { ...POSE_ANSWER, imageSize: { width: pieces, height: 0 } }));
  },
  embed(call, callback) {
    received.embed = call.request;
    // One vector per input: its length, then its first token id or character code.
    callback(null, {
      embeddings: call.request.inputs.map((input) => ({
        values: [
          input.text?.length ?? input.tokens?.ids.length ?? 0,
          input.text?.charCodeAt(0) ?? input.tokens?.ids[0] ?? 0,
          0.25,
        ],
      })),
      promptTokens: 7,
      loadNs: 0,
      totalNs: 9,
    });
  },
};

const models: ModelsServer = {
  list(call, callback) {
    const all = [
      { name: 'tiny-llama', task: Task.TASK_TEXT_GENERATION },
      { name: 'detector', task: Task.TASK_OBJECT_DETECTION },
    ];
    const wanted = call.request.task;
    callback(null, {
      models: all
        .filter((model) => wanted === Task.TASK_UNSPECIFIED || model.task === wanted)
        .map((model) => ({
          ...model,
          sizeBytes: 5_000_000_000,
          capabilities: [],
          digest: 'sha256:00',
          modifiedAtMs: 1_790_000_000_000,
          details: {
            format: 'onnx',
            family: 'llama',
            parameterSize: '1.1B',
            quantizationLevel: 'F16',
            parameterCount: 1_100_048_384,
          },
          contextLength: 2048,
          chatTemplate: undefined,
          labels: [],
          inputWidth: 0,
          inputHeight: 0,
          parameters: [],
          license: [],
        })),
    });
  },
  show(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  load(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  unload(call, callback) {
    callback(null, { unloaded: call.request.model === 'tiny-llama' });
  },
  workerInfo(_call, callback) {
    callback(null, {
      backend: Backend.BACKEND_CPU,
      requestedBackend: Backend.BACKEND_CUDA,
      device: 'cpu',
      providers: ['cpu'],
      threads: 2,
      loadedModels: [
        {
          model: undefined,
          memoryBytes: 10,
          deviceMemoryBytes: 0,
          expiresAtMs: undefined,
          running: 1,
          queued: 0,
          providers: ['cpu'],
        },
        {
          model: undefined,
          memoryBytes: 20,
          deviceMemoryBytes: 0,
          expiresAtMs: 0,
          running: 0,
          queued: 2,
          providers: ['cpu'],
        },
      ],
      running: 1,
      queued: 2,
      capacity: 4,
      queueCapacity: 16,
      version: '0.1.0',
      tasks: [Task.TASK_TEXT_GENERATION, Task.TASK_OBJECT_DETECTION],
    });
  },
  // The store's calls are the worker's (apps/worker tests them); here they say so.
  pull(call) {
    call.emit('error', toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  create(call) {
    call.emit('error', toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  copy(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  delete(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  putBlob(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
  hasBlob(_call, callback) {
    callback(toGrpcStatus(new VmmError(ErrorCode.Unimplemented, 'not in this test')));
  },
};

let server: Server;
let inferenceClient: InferenceClient;
let modelsClient: ModelsClient;

beforeAll(async () => {
  server = new Server();
  server.addService(InferenceService, inference);
  server.addService(ModelsService, models);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );
  inferenceClient = new InferenceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  modelsClient = new ModelsClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(() => {
  inferenceClient.close();
  modelsClient.close();
  server.forceShutdown();
});

function generateRequest(requestId: string, prompt: string, maxTokens?: number): GenerateRequest {
  return {
    model: 'tiny-llama',
    prompt,
    system: undefined,
    raw: false,
    images: [],
    options: { stop: [], ...(maxTokens === undefined ? {} : { maxTokens }) },
    context: { requestId, backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: undefined },
  };
}

/** Reads a stream to its end, returning the chunks, or the error it ended with. */
async function collect(
  stream: AsyncIterable<GenerateChunk>,
): Promise<{ chunks: GenerateChunk[]; error?: ServiceError }> {
  const chunks: GenerateChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks };
  } catch (error) {
    return { chunks, error: error as ServiceError };
  }
}

describe('Inference.Generate', () => {
  it('streams tokens in order and ends with finish reason, usage and timings', async () => {
    const { chunks, error } = await collect(
      inferenceClient.generate(generateRequest('in-order', 'hello', 4)),
    );
    expect(error).toBeUndefined();
    expect(chunks.map((chunk) => chunk.text)).toEqual([' tok1', ' tok2', ' tok3', ' tok4', '']);
    expect(chunks.map((chunk) => chunk.tokenIds)).toEqual([[101], [102], [103], [104], []]);
    expect(chunks.slice(0, -1).every((chunk) => chunk.done === undefined)).toBe(true);
    expect(chunks.at(-1)?.done).toEqual({
      finishReason: FinishReason.FINISH_REASON_LENGTH,
      usage: { promptTokens: 7, completionTokens: 4 },
      timings: {
        loadNs: 1,
        promptEvalNs: 2_000_000,
        evalNs: 3_000_000_000,
        totalNs: 4_000_000_001,
        queueNs: 0,
      },
      stopSequence: undefined,
    });
  });

  it('carries every sampling option, telling an unset option from a zero', async () => {
    const request: GenerateRequest = {
      model: 'tiny-llama',
      prompt: 'Once upon a time',
      system: 'You are terse.',
      raw: true,
      images: [],
      options: {
        temperature: 0,
        topK: 40,
        topP: 0.875,
        minP: 0.0625,
        repetitionPenalty: 1.125,
        repeatLastN: 64,
        presencePenalty: 0.5,
        frequencyPenalty: -0.25,
        seed: 2 ** 40 + 7,
        stop: ['\n\n', '</s>'],
        maxTokens: 2,
        contextSize: 2048,
      },
      context: { requestId: 'options', backend: Backend.BACKEND_CUDA, keepAliveMs: -1 },
    };
    await collect(inferenceClient.generate(request));
    expect(received.generate).toEqual(request);

    await collect(inferenceClient.generate(generateRequest('defaults', 'x', 1)));
    expect(received.generate?.options?.temperature).toBeUndefined();
    expect(received.generate?.options?.topK).toBeUndefined();
    expect(received.generate?.context?.keepAliveMs).toBeUndefined();
  });

  it('stops the server-side stream when the client cancels after 3 tokens', async () => {
    const call = inferenceClient.generate(generateRequest('cancel', 'forever'));
    const chunks: GenerateChunk[] = [];
    let error: ServiceError | undefined;
    try {
      for await (const chunk of call as AsyncIterable<GenerateChunk>) {
        chunks.push(chunk);
        if (chunks.length === 3) call.cancel();
      }
    } catch (caught) {
      error = caught as ServiceError;
    }
    expect(error?.code).toBe(status.CANCELLED);
    expect(chunks).toHaveLength(3);

    const record = records.get('cancel');
    await record?.ended;
    expect(record?.cancelled).toBe(true);
    const writtenAtEnd = record?.written ?? -1;
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nothing is written after the server saw the cancellation.
    expect(record?.written).toBe(writtenAtEnd);
    expect(writtenAtEnd).toBeLessThan(1000);
  });

  it('ends with DEADLINE_EXCEEDED when the deadline passes mid-stream, and the server sees it', async () => {
    const call = inferenceClient.generate(generateRequest('deadline', 'forever'), {
      deadline: Date.now() + 300,
    });
    const { chunks, error } = await collect(call);
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.every((chunk) => chunk.done === undefined)).toBe(true);

    const record = records.get('deadline');
    await record?.ended;
    expect(record?.cancelled).toBe(true);
    expect(record?.written).toBeLessThan(1000);
  });

  it('turns a VmmError thrown by the server back into the same VmmError', async () => {
    const { chunks, error } = await collect(
      inferenceClient.generate({ ...generateRequest('missing', 'x'), model: 'missing' }),
    );
    expect(chunks).toEqual([]);
    expect(error?.code).toBe(status.NOT_FOUND);
    const vmmError = fromGrpcError(error as ServiceError);
    expect(vmmError.code).toBe(ErrorCode.NotFound);
    expect(vmmError.message).toBe('model "missing" not found');
    expect(vmmError.field).toBe('model');
  });
});

describe('Inference.Chat', () => {
  it('carries messages with their roles, in order', async () => {
    const request: ChatRequest = {
      model: 'tiny-llama',
      messages: [
        { images: [], role: Role.ROLE_SYSTEM, content: 'Be brief.' },
        { images: [], role: Role.ROLE_USER, content: 'Hi there — ünïcödé ✓' },
        { images: [], role: Role.ROLE_ASSISTANT, content: 'Hello.' },
        { images: [], role: Role.ROLE_TOOL, content: '{"ok":true}' },
        { images: [], role: Role.ROLE_USER, content: '' },
      ],
      options: { stop: [] },
      context: { requestId: 'chat', backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: 300_000 },
    };
    const { chunks, error } = await collect(inferenceClient.chat(request));
    expect(error).toBeUndefined();
    expect(received.chat).toEqual(request);
    expect(chunks.at(-1)?.done?.usage?.completionTokens).toBe(2);
  });
});

describe('Inference.Chat with tools, and Embed', () => {
  it('carries formats, tools, tool calls in history, logprob options and logit bias', async () => {
    const request: ChatRequest = {
      model: 'tiny-llama',
      messages: [
        { images: [], role: Role.ROLE_USER, content: 'Weather?' },
        {
          images: [],
          role: Role.ROLE_ASSISTANT,
          content: '',
          toolCalls: { calls: [{ id: 'call_1', name: 'get_weather', argumentsJson: '{"city":"Paris"}' }] },
        },
        { images: [], role: Role.ROLE_TOOL, content: '21', toolCallId: 'call_1', name: 'get_weather' },
      ],
      options: { stop: [], logprobs: true, topLogprobs: 3, logitBias: { bias: { 42: -100, 7: 2.5 } } },
      context: undefined,
      format: { jsonSchema: '{"type":"object"}' },
      toolUse: {
        tools: [{ name: 'get_weather', description: 'weather', parametersJson: '{"type":"object"}' }],
        choice: { mode: ToolChoiceMode.TOOL_CHOICE_MODE_FUNCTION, function: 'get_weather' },
      },
    };
    const { error } = await collect(inferenceClient.chat(request));
    expect(error).toBeUndefined();
    expect(received.chat).toEqual(request);
  });

  it('embeds texts and token ids, in order', async () => {
    const response = await new Promise<unknown>((resolve, reject) =>
      inferenceClient.embed(
        {
          model: 'embedder',
          inputs: [{ text: 'héllo' }, { tokens: { ids: [101, 7, 102] } }],
          truncate: false,
          dimensions: 3,
          context: undefined,
          maxTokens: undefined,
        },
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
    expect(received.embed).toMatchObject({ truncate: false, dimensions: 3 });
    expect(response).toEqual({
      embeddings: [{ values: [5, 104, 0.25] }, { values: [3, 101, 0.25] }],
      promptTokens: 7,
      loadNs: 0,
      totalNs: 9,
    });
  });
});

describe('Inference.Detect and Classify', () => {
  function detect(image: Buffer, confidenceThreshold?: number) {
    return new Promise<{ error: ServiceError | null; response: unknown }>((resolve) => {
      inferenceClient.detect(
        {
          model: 'detector',
          image,
          confidenceThreshold,
          iouThreshold: undefined,
          maxDetections: undefined,
          classIds: [],
          context: undefined,
        },
        (error, response) => resolve({ error, response }),
      );
    });
  }

  it('sends image bytes intact and returns boxes with labels, scores and timings', async () => {
    const image = Buffer.alloc(1_000_000);
    for (let i = 0; i < image.length; i += 1) image[i] = (i * 31) % 251;
    const expectedSum = image.reduce((sum, byte) => (sum + byte) % 65_536, 0);
    const { error, response } = await detect(image);
    expect(error).toBeNull();
    expect(response).toEqual({
      detections: [
        { box: { x1: 1.5, y1: 2.5, x2: 30.25, y2: 40.75 }, classId: 2, label: 'blue', score: 0.875 },
      ],
      imageSize: { width: 1_000_000, height: expectedSum },
      timings: { loadNs: 0, decodeNs: 1, preprocessNs: 2, inferenceNs: 3, postprocessNs: 4, totalNs: 10 },
    });
  });

  it('uploads an image in pieces, then the request, over a client stream', async () => {
    const image = Buffer.alloc(300_000);
    for (let i = 0; i < image.length; i += 1) image[i] = (i * 7) % 253;
    const response = await new Promise<unknown>((resolve, reject) => {
      const call = inferenceClient.detectUpload((error, value) => (error ? reject(error) : resolve(value)));
      for (let at = 0; at < image.length; at += 100_000)
        call.write({ imageChunk: image.subarray(at, at + 100_000) });
      call.write({ request: DetectRequest.fromPartial({ model: 'detector' }) });
      call.end();
    });
    expect(response).toMatchObject({
      detections: [{ label: 'detector after 3 pieces' }],
      imageSize: { width: 300_000, height: image.reduce((sum, byte) => (sum + byte) % 65_536, 0) },
    });
  });

  it('reports a bad option as INVALID_ARGUMENT naming the field', async () => {
    const { error } = await detect(Buffer.from([1, 2, 3]), 1.5);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(fromGrpcError(error as ServiceError).field).toBe('confidence_threshold');
  });

  it('passes the retry hint of RESOURCE_EXHAUSTED', async () => {
    const error = await new Promise<ServiceError | null>((resolve) =>
      inferenceClient.classify(
        { model: 'classifier', image: Buffer.from([1]), topK: 3, context: undefined },
        (caught) => resolve(caught),
      ),
    );
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const vmmError = fromGrpcError(error as ServiceError);
    expect(vmmError.code).toBe(ErrorCode.ResourceExhausted);
    expect(vmmError.retryAfterMs).toBe(1500);
  });
});

describe('Inference.Segment and Pose', () => {
  it('returns masks as runs, outlines when asked, and keypoints with the skeleton', async () => {
    const segment = (polygons: boolean) =>
      new Promise<SegmentResponse>((resolve, reject) =>
        inferenceClient.segment(
          SegmentRequest.fromPartial({ model: 'seg', image: Buffer.from([1]), polygons }),
          (error, value) => (error ? reject(error) : resolve(value)),
        ),
      );
    expect(await segment(true)).toEqual(SEGMENT_ANSWER);
    expect((await segment(false)).segments[0]?.polygons).toEqual([]);
    const pose = await new Promise<PoseResponse>((resolve, reject) =>
      inferenceClient.pose(
        PoseRequest.fromPartial({ model: 'pose', image: Buffer.from([1]) }),
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
    expect(pose).toEqual(POSE_ANSWER);
  });

  it('uploads for segmentation and pose in pieces, then the request', async () => {
    const upload = <T>(
      request: SegmentRequest | PoseRequest,
      start: (cb: (error: ServiceError | null, value?: T) => void) => {
        write(part: object): void;
        end(): void;
      },
    ) =>
      new Promise<T>((resolve, reject) => {
        const call = start((error, value) => (error ? reject(error) : resolve(value as T)));
        for (let i = 0; i < 3; i += 1) call.write({ imageChunk: Buffer.from([i]) });
        call.write({ request });
        call.end();
      });
    expect(
      await upload<SegmentResponse>(SegmentRequest.fromPartial({ model: 'm' }), (cb) =>
        inferenceClient.segmentUpload(cb),
      ),
    ).toEqual(SEGMENT_ANSWER);
    expect(
      (
        await upload<PoseResponse>(PoseRequest.fromPartial({ model: 'm' }), (cb) =>
          inferenceClient.poseUpload(cb),
        )
      ).imageSize,
    ).toEqual({
      width: 3,
      height: 0,
    });
  });
});

describe('Inference.RemoveBackground', () => {
  it('returns the PNG bytes intact, and a mask as runs from an upload', async () => {
    const answer = await new Promise<RemoveBackgroundResponse>((resolve, reject) =>
      inferenceClient.removeBackground(
        RemoveBackgroundRequest.fromPartial({
          model: 'isnet',
          image: Buffer.from([1]),
          output: MatteOutput.MATTE_OUTPUT_MASK,
        }),
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
    expect([...answer.png]).toEqual([0x89, MatteOutput.MATTE_OUTPUT_MASK]);
    expect(answer.foreground).toBe(0.25);
    const uploaded = await new Promise<RemoveBackgroundResponse>((resolve, reject) => {
      const call = inferenceClient.removeBackgroundUpload((error, value) =>
        error ? reject(error) : resolve(value),
      );
      call.write({ imageChunk: Buffer.from([1, 2]) });
      call.write({ request: RemoveBackgroundRequest.fromPartial({ model: 'isnet' }) });
      call.end();
    });
    expect(uploaded.mask).toEqual({ width: 2, height: 2, counts: [1, 3], area: 3 });
  });
});

describe('Models', () => {
  it('lists models filtered by task', async () => {
    const response = await new Promise((resolve, reject) =>
      modelsClient.list({ task: Task.TASK_OBJECT_DETECTION }, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(response).toMatchObject({
      models: [{ name: 'detector', task: Task.TASK_OBJECT_DETECTION, sizeBytes: 5_000_000_000 }],
    });
  });

  it('reports worker info with enums, repeated fields and optional expiry', async () => {
    const response = await new Promise((resolve, reject) =>
      modelsClient.workerInfo({}, (error, value) => (error ? reject(error) : resolve(value))),
    );
    expect(response).toMatchObject({
      backend: Backend.BACKEND_CPU,
      requestedBackend: Backend.BACKEND_CUDA,
      providers: ['cpu'],
      loadedModels: [
        { memoryBytes: 10, expiresAtMs: undefined, running: 1 },
        { memoryBytes: 20, expiresAtMs: 0, queued: 2 },
      ],
      capacity: 4,
      queueCapacity: 16,
      tasks: [Task.TASK_TEXT_GENERATION, Task.TASK_OBJECT_DETECTION],
    });
  });

  it('answers unload', async () => {
    const response = await new Promise((resolve, reject) =>
      modelsClient.unload({ model: 'tiny-llama' }, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(response).toEqual({ unloaded: true });
  });
});
