// A model thread that dies is replaced: its in-flight requests end with a clear, retryable
// UNAVAILABLE, the worker's other models keep serving at once, the model loads again on its next
// request, and the worker stays SERVING throughout (issue 27, point 7).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODE_TRAILER, ErrorCode, RETRY_AFTER_TRAILER } from '@vmm/errors';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import { Backend, type DetectResponse, type GenerateChunk, type GenerateRequest } from '@vmm/proto';
import { waitFor } from '@vmm/test-support';
import sharp from 'sharp';
import { baseConfig, removeModels, type Running, startWorker, writeModels } from './worker-harness.js';

const modelsDir = writeModels();
let w: Running;
beforeAll(async () => {
  w = await startWorker(baseConfig(modelsDir));
});
afterAll(async () => {
  await w.close();
  removeModels(modelsDir);
});

const generate = (model: string, maxTokens: number): GenerateRequest => ({
  model,
  prompt: 'Once upon a time',
  raw: true,
  images: [],
  system: undefined,
  options: { stop: [], temperature: 0, maxTokens },
  context: { requestId: `thread-${maxTokens}`, backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: undefined },
});

async function detect(): Promise<DetectResponse> {
  const image = await sharp(
    drawSquares(320, 240, [{ x: 40, y: 40, size: 60, rgb: detectorColours[0]!.rgb }]).data,
    {
      raw: { width: 320, height: 240, channels: 3 },
    },
  )
    .png()
    .toBuffer();
  return new Promise((resolve, reject) =>
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
}

const serving = () =>
  new Promise<string | undefined>((resolve) =>
    w.health.check({ service: '' }, (_error, response) => resolve(response?.status)),
  );

it('replaces a model thread killed mid-stream; the other models serve at once', async () => {
  // Both models loaded and answering.
  expect((await detect()).detections.length).toBeGreaterThan(0);
  const call = w.inference.generate(generate('heavy-llama', 100_000));
  const chunks: GenerateChunk[] = [];
  let failure: ServiceError | undefined;
  const streamed = (async () => {
    try {
      for await (const chunk of call as AsyncIterable<GenerateChunk>) chunks.push(chunk);
    } catch (error) {
      failure = error as ServiceError;
    }
  })();
  await waitFor('the first tokens', () => chunks.length > 0, { timeoutMs: 30_000 });

  const state = w.worker.manager.loaded().find((model) => model.name === 'heavy-llama:latest');
  expect(state?.model.kind).toBe('llm');
  await state?.model.runner.kill();
  await streamed;

  // The stream ends with a clear, retryable error of the worker's own (not a dropped connection).
  expect(failure?.code).toBe(status.UNAVAILABLE);
  expect(failure?.details).toMatch(/the model thread exited|crashed|replaced/);
  const trailers = failure?.metadata ?? new Metadata();
  expect(trailers.get(ERROR_CODE_TRAILER)[0]).toBe(ErrorCode.Unavailable);
  expect(Number(trailers.get(RETRY_AFTER_TRAILER)[0])).toBeGreaterThan(0);

  // At once: the detector answers, the worker is SERVING, the dead model is no longer loaded.
  expect((await detect()).detections.length).toBeGreaterThan(0);
  expect(await serving()).toBe('SERVING');
  expect(w.worker.manager.loaded().map((model) => model.name)).not.toContain('heavy-llama:latest');
  expect(w.worker.manager.busy('heavy-llama:latest')).toBe(0);

  // The next request on it loads a new thread and streams to the end.
  const again: GenerateChunk[] = [];
  for await (const chunk of w.inference.generate(generate('heavy-llama', 4)) as AsyncIterable<GenerateChunk>)
    again.push(chunk);
  expect(again.at(-1)?.done).toBeDefined();
  expect(again.flatMap((chunk) => chunk.tokenIds)).toHaveLength(4);
});

it('replaces a thread that dies while idle, before its next request', async () => {
  expect((await detect()).detections.length).toBeGreaterThan(0);
  const state = w.worker.manager.loaded().find((model) => model.name === 'detector:latest');
  await state?.model.runner.kill();
  await waitFor(
    'the dead detector to be dropped',
    () => !w.worker.manager.loaded().some((model) => model.name === 'detector:latest'),
  );
  expect((await detect()).detections.length).toBeGreaterThan(0);
});
