// The worker over real gRPC on 127.0.0.1:0 with fixture models: streaming, limits,
// cancellation, health while busy, errors, the model manager's policies.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { connectivityState, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, fromGrpcError } from '@vmm/errors';
import { LlmRunner } from '@vmm/llm';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import {
  Backend,
  FinishReason,
  type GenerateChunk,
  type GenerateRequest,
  Role,
  type SamplingOptions,
  Task,
} from '@vmm/proto';
import sharp from 'sharp';
import { baseConfig, removeModels, type Running, startWorker, writeModels } from './worker-harness.js';

const modelsDir = writeModels();
let w: Running;

beforeAll(async () => {
  w = await startWorker(baseConfig(modelsDir, { maxRunning: 1, maxBatch: 1, maxQueue: 1 }));
});
afterAll(async () => {
  await w.close();
  removeModels(modelsDir);
});

const options = (extra: Partial<SamplingOptions> = {}): SamplingOptions => ({ stop: [], ...extra });
const request = (
  model: string,
  prompt: string,
  extra: Partial<SamplingOptions> = {},
  keepAliveMs?: number,
): GenerateRequest => ({
  model,
  prompt,
  raw: true,
  images: [],
  system: undefined,
  options: options(extra),
  context: { requestId: `test-${prompt.length}`, backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs },
});

async function collect(stream: AsyncIterable<GenerateChunk>) {
  const chunks: GenerateChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return {
      chunks,
      ids: chunks.flatMap((c) => c.tokenIds),
      text: chunks.map((c) => c.text).join(''),
      done: chunks.at(-1)?.done,
    };
  } catch (error) {
    return { chunks, ids: [], text: '', done: undefined, error: error as ServiceError };
  }
}

const waitFor = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
};

describe('Inference.Generate and Chat', () => {
  it('streams the same tokens as the in-process generator for the same seed', async () => {
    const sampling = { temperature: 1, topK: 0, topP: 1, seed: 5, maxTokens: 20 };
    const remote = await collect(w.inference.generate(request('tiny-llama', 'Once upon a time', sampling)));
    const local = await LlmRunner.open({
      dir: join(modelsDir, 'tiny-llama'),
      file: 'onnx/model.onnx',
      session: { backend: 'cpu' },
    });
    const chunks = [];
    for await (const chunk of local.generate({ prompt: 'Once upon a time', raw: true, options: sampling }))
      chunks.push(chunk);
    await local.close();
    expect(remote.ids).toEqual(chunks.flatMap((c) => c.tokenIds));
    expect(remote.text).toBe(chunks.map((c) => c.text).join(''));
    expect(remote.done).toMatchObject({
      finishReason: FinishReason.FINISH_REASON_LENGTH,
      usage: { completionTokens: 20 },
    });
    expect(remote.done?.timings?.totalNs).toBeGreaterThan(0);
  });

  it('applies the model’s chat template to Chat', async () => {
    const messages = [
      { images: [], role: Role.ROLE_SYSTEM, content: 'Be brief.' },
      { images: [], role: Role.ROLE_USER, content: 'Hi' },
    ];
    const chat = await collect(
      w.inference.chat({
        model: 'tiny-llama',
        messages,
        options: options({ temperature: 0, maxTokens: 4 }),
        context: undefined,
      }),
    );
    const local = await LlmRunner.open({
      dir: join(modelsDir, 'tiny-llama'),
      file: 'onnx/model.onnx',
      session: { backend: 'cpu' },
    });
    const ids = [];
    for await (const chunk of local.chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      options: { temperature: 0, maxTokens: 4 },
    })) {
      ids.push(...chunk.tokenIds);
    }
    await local.close();
    expect(chat.ids).toEqual(ids);
    expect(chat.done?.usage?.promptTokens).toBeGreaterThan(10);
  });
});

describe('concurrency limits', () => {
  it('runs one, queues one, and refuses the next at once with RESOURCE_EXHAUSTED', async () => {
    const long = () =>
      collect(
        w.inference.generate(request('heavy-llama', 'Once upon a time', { temperature: 0, maxTokens: 60 })),
      );
    const first = long();
    await waitFor(async () => (await w.workerInfo()).running === 1, 5000);
    const second = long();
    await waitFor(async () => (await w.workerInfo()).queued === 1, 5000);
    const started = Date.now();
    const third = await long();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(third.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fromGrpcError(third.error as ServiceError).retryAfterMs).toBe(1000);
    const [a, b] = await Promise.all([first, second]);
    expect(a.done?.usage?.completionTokens).toBe(60);
    expect(b.done?.usage?.completionTokens).toBe(60);
    expect(await w.workerInfo()).toMatchObject({ running: 0, queued: 0 });
  });
});

describe('cancellation and health', () => {
  it('answers health checks promptly while a long generation runs', async () => {
    const generation = collect(
      w.inference.generate(request('heavy-llama', 'Once upon a time', { temperature: 0, maxTokens: 200 })),
    );
    await waitFor(async () => (await w.workerInfo()).running === 1, 5000);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const started = performance.now();
      const response = await new Promise<{ status: string } | undefined>((resolve, reject) =>
        w.health.check({ service: 'vmm.v1.Inference' }, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
      latencies.push(performance.now() - started);
      expect(response?.status).toBe('SERVING');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await w.workerInfo()).running).toBe(1);
    // A blocked event loop would hold every check for the whole generation (seconds). The
    // bounds leave room for a 2-core CI machine whose cores are busy with other work (a check
    // took 54 ms there); bench/worker measures the latency itself.
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted[4]).toBeLessThan(100);
    expect(sorted[9]).toBeLessThan(1000);
    await generation;
  });

  it('brings the running count back to 0 within a step when the client cancels after 3 tokens', async () => {
    const call = w.inference.generate(
      request('heavy-llama', 'Once upon a time', { temperature: 0, maxTokens: 1000 }),
    );
    let seen = 0;
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      call.on('data', () => {
        seen += 1;
        if (seen === 3) call.cancel();
      });
      call.on('error', (error: ServiceError) => resolve(error));
      call.on('end', () => resolve(undefined));
    });
    const error = await ended;
    expect(error?.code).toBe(status.CANCELLED);
    const cancelledAt = Date.now();
    expect(await waitFor(async () => (await w.workerInfo()).running === 0, 2000)).toBe(true);
    // One decode step of this model is a few ms; allow generously for the poll itself.
    expect(Date.now() - cancelledAt).toBeLessThan(500);
  });

  it('ends with DEADLINE_EXCEEDED when the deadline passes, and frees the slot', async () => {
    const result = await collect(
      w.inference.generate(request('heavy-llama', 'Once upon a time', { temperature: 0, maxTokens: 2000 }), {
        deadline: Date.now() + 300,
      }),
    );
    expect(result.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(await waitFor(async () => (await w.workerInfo()).running === 0, 2000)).toBe(true);
  });
});

describe('vision over gRPC', () => {
  const png = (squares: Parameters<typeof drawSquares>[2]) =>
    sharp(drawSquares(640, 480, squares).data, { raw: { width: 640, height: 480, channels: 3 } })
      .png()
      .toBuffer();

  it('detects squares, boxes in original pixels', async () => {
    const image = await png([{ x: 100, y: 100, size: 80, rgb: detectorColours[1]!.rgb }]);
    const response = await new Promise<unknown>((resolve, reject) =>
      w.inference.detect(
        {
          model: 'detector',
          image,
          classIds: [],
          confidenceThreshold: undefined,
          iouThreshold: undefined,
          maxDetections: undefined,
          context: undefined,
        },
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );
    expect(response).toMatchObject({
      detections: [
        { classId: 1, label: 'green', box: { x1: expect.closeTo(100, 0), x2: expect.closeTo(180, 0) } },
      ],
      imageSize: { width: 640, height: 480 },
    });
  });

  it('classifies an image', async () => {
    const image = await png([]);
    const response = await new Promise<{ classes: { label: string }[] } | undefined>((resolve, reject) =>
      w.inference.classify({ model: 'classifier', image, topK: 2, context: undefined }, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(response?.classes.map((c) => c.label)).toEqual(['black', expect.any(String)]);
  });
});

describe('errors', () => {
  const generateError = async (req: GenerateRequest) => (await collect(w.inference.generate(req))).error;
  const detectError = (model: string, image: Buffer, extra: Record<string, unknown> = {}) =>
    new Promise<ServiceError | null>((resolve) =>
      w.inference.detect(
        {
          model,
          image,
          classIds: [],
          confidenceThreshold: undefined,
          iouThreshold: undefined,
          maxDetections: undefined,
          context: undefined,
          ...extra,
        },
        (error) => resolve(error),
      ),
    );

  it.each([
    ['an unknown model', request('no-such-model', 'x'), status.NOT_FOUND, ErrorCode.NotFound, 'model'],
    [
      'an invalid model name',
      request('../etc', 'x'),
      status.INVALID_ARGUMENT,
      ErrorCode.InvalidArgument,
      'model',
    ],
    [
      'the wrong task',
      request('detector', 'x'),
      status.FAILED_PRECONDITION,
      ErrorCode.FailedPrecondition,
      'model',
    ],
    [
      'a bad option',
      request('tiny-llama', 'x', { temperature: -1 }),
      status.INVALID_ARGUMENT,
      ErrorCode.InvalidArgument,
      'options.temperature',
    ],
    [
      'a pin to another backend',
      {
        ...request('tiny-llama', 'x'),
        context: { requestId: 'p', backend: Backend.BACKEND_CUDA, keepAliveMs: undefined },
      },
      status.FAILED_PRECONDITION,
      ErrorCode.FailedPrecondition,
      'context.backend',
    ],
  ])('Generate with %s', async (_name, req, grpcCode, code, field) => {
    const error = await generateError(req);
    expect(error?.code).toBe(grpcCode);
    expect(fromGrpcError(error as ServiceError)).toMatchObject({ code, field });
  });

  it('answers an oversize image with INVALID_ARGUMENT carrying payload_too_large', async () => {
    const { crc32 } = await import('node:zlib');
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const out = Buffer.alloc(body.length + 8);
      out.writeUInt32BE(data.length, 0);
      body.copy(out, 4);
      out.writeUInt32BE(crc32(body), body.length + 4);
      return out;
    };
    const bomb = Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', ihdr),
      chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const error = await detectError('detector', bomb);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(fromGrpcError(error as ServiceError)).toMatchObject({
      code: ErrorCode.PayloadTooLarge,
      field: 'image',
    });
  });

  it.each([
    ['no image', Buffer.alloc(0), {}, ErrorCode.InvalidArgument, 'image'],
    ['text instead of an image', Buffer.from('hello'), {}, ErrorCode.InvalidArgument, 'image'],
    [
      'a threshold out of range',
      Buffer.from('x'),
      { confidenceThreshold: 3 },
      ErrorCode.InvalidArgument,
      undefined,
    ],
  ])('Detect with %s', async (_name, image, extra, code, field) => {
    const error = await detectError('detector', image, extra);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    const vmmError = fromGrpcError(error as ServiceError);
    expect(vmmError.code).toBe(code);
    if (field) expect(vmmError.field).toBe(field);
  });

  it('refuses Detect on a text model and on a classifier with FAILED_PRECONDITION', async () => {
    expect((await detectError('tiny-llama', Buffer.from('x')))?.code).toBe(status.FAILED_PRECONDITION);
    expect(
      (
        await detectError(
          'classifier',
          await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
            .png()
            .toBuffer(),
        )
      )?.code,
    ).toBe(status.FAILED_PRECONDITION);
  });

  it('passes the request id from metadata when the request has none', async () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'abc-123');
    const result = await collect(
      w.inference.generate({ ...request('tiny-llama', 'x', { maxTokens: 1 }), context: undefined }, metadata),
    );
    expect(result.done).toBeDefined();
  });
});

describe('Models', () => {
  const call = <T>(method: 'list' | 'show' | 'load' | 'unload', body: object) =>
    new Promise<T>((resolve, reject) =>
      (w.models[method] as unknown as (b: object, cb: (e: ServiceError | null, r: T) => void) => void)(
        body,
        (error, value) => (error ? reject(error) : resolve(value)),
      ),
    );

  it('lists every model with its task, and filters by task', async () => {
    const all = await call<{ models: { name: string; task: Task; labels: string[] }[] }>('list', {
      task: Task.TASK_UNSPECIFIED,
    });
    expect(all.models.map((m) => [m.name, m.task])).toEqual([
      ['classifier:latest', Task.TASK_IMAGE_CLASSIFICATION],
      ['detector:latest', Task.TASK_OBJECT_DETECTION],
      ['heavy-llama:latest', Task.TASK_TEXT_GENERATION],
      ['tiny-llama:latest', Task.TASK_TEXT_GENERATION],
    ]);
    // A listing leaves out each model's text; Show gives it whole.
    expect(all.models.find((m) => m.name === 'detector:latest')?.labels).toEqual([]);
    const shown = await call<{ name: string; labels: string[] }>('show', { model: 'detector' });
    expect([shown.name, shown.labels.slice(0, 2)]).toEqual(['detector:latest', ['red', 'green']]);
    await expect(call('show', { model: 'no-such-model' })).rejects.toMatchObject({ code: 5 });
    const text = await call<{ models: { name: string }[] }>('list', { task: Task.TASK_TEXT_GENERATION });
    expect(text.models.map((m) => m.name)).toEqual(['heavy-llama:latest', 'tiny-llama:latest']);
  });

  it('loads, reports and unloads a model; keep_alive 0 unloads after the request', async () => {
    await call('unload', { model: 'classifier' });
    const loaded = await call<{ loadNs: number; model: { providers: string[] } }>('load', {
      model: 'classifier',
      keepAliveMs: -1,
    });
    expect(loaded.loadNs).toBeGreaterThan(0);
    expect(loaded.model.providers).toEqual(['cpu']);
    const again = await call<{ loadNs: number }>('load', { model: 'classifier' });
    expect(again.loadNs).toBe(0);
    const info = await w.workerInfo();
    expect(info.loadedModels.map((m) => m.model?.name)).toContain('classifier:latest');
    expect(await call('unload', { model: 'classifier' })).toEqual({ unloaded: true });
    expect(await call('unload', { model: 'classifier' })).toEqual({ unloaded: false });

    await collect(w.inference.generate(request('tiny-llama', 'x', { maxTokens: 1 }, 0)));
    expect(
      await waitFor(
        async () => !(await w.workerInfo()).loadedModels.some((m) => m.model?.name === 'tiny-llama'),
        2000,
      ),
    ).toBe(true);
  });

  it('reports the worker: backend, device, providers, limits', async () => {
    expect(await w.workerInfo()).toMatchObject({
      backend: Backend.BACKEND_CPU,
      requestedBackend: Backend.BACKEND_CPU,
      providers: ['cpu'],
      threads: 1,
      capacity: 4,
      queueCapacity: 4,
      tasks: [
        Task.TASK_TEXT_GENERATION,
        Task.TASK_OBJECT_DETECTION,
        Task.TASK_IMAGE_CLASSIFICATION,
        Task.TASK_INSTANCE_SEGMENTATION,
        Task.TASK_POSE_ESTIMATION,
        Task.TASK_BACKGROUND_REMOVAL,
        Task.TASK_EMBEDDING,
      ],
    });
  });
});

describe('connection age (VMM_GRPC_MAX_CONNECTION_AGE)', () => {
  it('asks a client to reconnect after the age, letting a longer stream finish first', async () => {
    const aged = await startWorker(baseConfig(modelsDir, { maxConnectionAgeMs: 300 }));
    try {
      const channel = aged.models.getChannel();
      await aged.workerInfo();
      expect(channel.getConnectivityState(false)).toBe(connectivityState.READY);
      // A generation that outlives the age runs to its end on the old connection.
      const started = Date.now();
      const result = await collect(
        aged.inference.generate(
          request('heavy-llama', 'Once upon a time', { temperature: 0, maxTokens: 400 }),
        ),
      );
      expect(result.error).toBeUndefined();
      expect(result.done?.finishReason).toBe(FinishReason.FINISH_REASON_LENGTH);
      expect(Date.now() - started).toBeGreaterThan(300);
      // The models channel got the GOAWAY: it leaves READY, and the next call connects again.
      const left = await new Promise<boolean>((resolve) => {
        if (channel.getConnectivityState(false) !== connectivityState.READY) return resolve(true);
        channel.watchConnectivityState(connectivityState.READY, Date.now() + 5000, (error) =>
          resolve(!error),
        );
      });
      expect(left).toBe(true);
      expect((await aged.workerInfo()).backend).toBe(Backend.BACKEND_CPU);
    } finally {
      await aged.close();
    }
  });
});
