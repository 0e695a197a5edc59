// DetectUpload and ClassifyUpload over real gRPC on 127.0.0.1:0: an image sent in pieces, then
// the request, answers as Detect and Classify do; every wrong upload is refused with its reason.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  credentials,
  makeClientConstructor,
  type ServiceError,
  status,
  type ClientWritableStream,
} from '@grpc/grpc-js';
import { ErrorCode, fromGrpcError } from '@vmm/errors';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import { type ClassifyRequest, DetectRequest, type DetectUploadPart } from '@vmm/proto';
import sharp from 'sharp';
import { baseConfig, removeModels, type Running, startWorker, writeModels } from './worker-harness.js';

const modelsDir = writeModels();
/** The largest image an upload may hold here: a message's limit, set low to reach it. */
const MAX_BYTES = 256 * 1024;
let w: Running;
let image: Buffer;

beforeAll(async () => {
  w = await startWorker(baseConfig(modelsDir, { maxMessageBytes: MAX_BYTES }));
  image = await sharp(
    drawSquares(640, 480, [
      { x: 100, y: 100, size: 80, rgb: detectorColours[1]!.rgb },
      { x: 400, y: 200, size: 120, rgb: detectorColours[0]!.rgb },
    ]).data,
    { raw: { width: 640, height: 480, channels: 3 } },
  )
    .png()
    .toBuffer();
});
afterAll(async () => {
  await w.close();
  removeModels(modelsDir);
});

const detectRequest = (extra: Partial<DetectRequest> = {}): DetectRequest =>
  DetectRequest.fromPartial({ model: 'detector', ...extra });

/** `bytes` cut into `count` pieces, in order. */
function pieces(bytes: Buffer, count: number): Buffer[] {
  const size = Math.ceil(bytes.length / count);
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

/** A DetectUpload call: `send` writes its messages, then the call ends; its answer or error. */
function detectUpload(
  send: (call: ClientWritableStream<DetectUploadPart>) => void,
): Promise<{ value?: unknown; error?: ServiceError }> {
  return new Promise((resolve) => {
    const call = w.inference.detectUpload((error, value) => resolve(error ? { error } : { value }));
    send(call);
    call.end();
  });
}

describe('DetectUpload and ClassifyUpload', () => {
  it('answers an image sent in pieces as Detect answers it whole', async () => {
    const whole = await new Promise<unknown>((resolve, reject) =>
      w.inference.detect(detectRequest({ image }), (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    const uploaded = await detectUpload((call) => {
      for (const piece of pieces(image, 7)) call.write({ imageChunk: piece });
      call.write({ request: detectRequest() });
    });
    expect(uploaded.error).toBeUndefined();
    const strip = (answer: unknown) => ({ ...(answer as object), timings: undefined });
    expect(strip(uploaded.value)).toEqual(strip(whole));
    expect(uploaded.value).toMatchObject({ detections: [{}, {}], imageSize: { width: 640, height: 480 } });
  });

  it('answers ClassifyUpload as Classify', async () => {
    const request = (image: Buffer): ClassifyRequest => ({
      model: 'classifier',
      image,
      topK: 2,
      context: undefined,
    });
    const whole = await new Promise<{ classes: unknown[] } | undefined>((resolve, reject) =>
      w.inference.classify(request(image), (error, value) => (error ? reject(error) : resolve(value))),
    );
    const uploaded = await new Promise<{ classes: unknown[] } | undefined>((resolve, reject) => {
      const call = w.inference.classifyUpload((error, value) => (error ? reject(error) : resolve(value)));
      for (const piece of pieces(image, 3)) call.write({ imageChunk: piece });
      call.write({ request: request(Buffer.alloc(0)) });
      call.end();
    });
    expect(uploaded?.classes).toEqual(whole?.classes);
    expect(uploaded?.classes).toHaveLength(2);
  });

  it.each([
    [
      'no request',
      (call: ClientWritableStream<DetectUploadPart>) => call.write({ imageChunk: Buffer.from('ab') }),
      'without its request',
    ],
    [
      'a piece after the request',
      (call: ClientWritableStream<DetectUploadPart>) => {
        call.write({ request: detectRequest() });
        call.write({ imageChunk: Buffer.from('ab') });
      },
      'the last message',
    ],
    [
      'a request with an image of its own',
      (call: ClientWritableStream<DetectUploadPart>) => {
        call.write({ imageChunk: Buffer.from('ab') });
        call.write({ request: detectRequest({ image: Buffer.from('cd') }) });
      },
      'carries no image',
    ],
    ['an empty part', (call: ClientWritableStream<DetectUploadPart>) => call.write({}), 'neither'],
  ])('refuses an upload with %s: INVALID_ARGUMENT', async (_name, send, reason) => {
    const { error } = await detectUpload(send);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toContain(reason);
  });

  it('refuses an image past the limit as it arrives, before the upload ends', async () => {
    // The call is never ended: the refusal must come from the pieces alone.
    const error = await new Promise<ServiceError | null>((resolve) => {
      const call = w.inference.detectUpload((failure) => resolve(failure));
      const piece = Buffer.alloc(64 * 1024, 1);
      for (let sent = 0; sent <= MAX_BYTES; sent += piece.length) call.write({ imageChunk: piece });
    });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(fromGrpcError(error as ServiceError)).toMatchObject({
      code: ErrorCode.PayloadTooLarge,
      field: 'image',
    });
  });

  it('answers an unknown model NOT_FOUND and a bad image INVALID_ARGUMENT, as Detect does', async () => {
    const unknown = await detectUpload((call) => {
      call.write({ imageChunk: image });
      call.write({ request: detectRequest({ model: 'no-such-model' }) });
    });
    expect(unknown.error?.code).toBe(status.NOT_FOUND);
    const text = await detectUpload((call) => {
      call.write({ imageChunk: Buffer.from('hello') });
      call.write({ request: detectRequest() });
    });
    expect(text.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(fromGrpcError(text.error as ServiceError).field).toBe('image');
  });

  it('refuses a part that does not decode: INVALID_ARGUMENT, not INTERNAL', async () => {
    // A client of the same method that sends raw bytes: a length-delimited field cut short.
    const Raw = makeClientConstructor(
      {
        detectUpload: {
          path: '/vmm.v1.Inference/DetectUpload',
          requestStream: true,
          responseStream: false,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      'Raw',
    );
    const raw = new Raw(`127.0.0.1:${w.port}`, credentials.createInsecure()) as unknown as {
      detectUpload(callback: (error: ServiceError | null) => void): ClientWritableStream<Buffer>;
      close(): void;
    };
    try {
      const error = await new Promise<ServiceError | null>((resolve) => {
        const call = raw.detectUpload(resolve);
        call.write(Buffer.from([0x0a, 0x10, 0x01]));
        call.end();
      });
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(error?.details).toContain('malformed');
    } finally {
      raw.close();
    }
  });
});
