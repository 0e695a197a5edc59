// WorkerPool.stream against a real gRPC server on loopback: a call that ended is never
// cancelled (each such cancel is an RST_STREAM, and enough of them make the worker's HTTP/2
// rapid-reset protection close the connection), while a consumer that stops early cancels.
// WorkerPool.detectUpload against the same server: pieces, then the request; a refusal that
// comes while pieces are still being sent; giving an upload up.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { Metadata, Server, ServerCredentials, type StatusObject, status } from '@grpc/grpc-js';
import { ErrorCode, toGrpcStatus, VmmError } from '@vmm/errors';
import { DetectRequest, type GenerateChunk, InferenceService, type InferenceServer } from '@vmm/proto';
import { waitFor } from '@vmm/test-support';
import { WorkerPool } from './worker-pool.js';

const chunk = (text: string, last = false): GenerateChunk => ({
  text,
  tokenIds: last ? [] : [1],
  done: last ? { finishReason: 1, usage: undefined, timings: undefined, stopSequence: undefined } : undefined,
});

let server: Server;
let pool: WorkerPool;
const serverCancelled: boolean[] = [];
/** What the server saw of each upload: its pieces' bytes, then the request's model or how it ended. */
const uploads: string[][] = [];
/** The most bytes the test server takes in one upload before it refuses it. */
const UPLOAD_LIMIT = 1_000_000;

beforeAll(async () => {
  server = new Server();
  const unimplemented = () => {
    throw new Error('not used');
  };
  const impl: InferenceServer = {
    generate(call) {
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      const count = call.request.options?.maxTokens ?? 2;
      for (let i = 0; i < count; i += 1) call.write(chunk(`t${i}`));
      call.write(chunk('', true));
      if (call.request.prompt === 'stop-early') {
        // The consumer stops before the last message: the call ends when its cancel arrives.
        const settle = () => {
          clearTimeout(timer);
          serverCancelled.push(cancelled);
          if (!cancelled) call.end();
        };
        const timer = setTimeout(settle, 10_000);
        call.on('cancelled', settle);
        return;
      }
      // The status trails the last message by a moment, as it may on a busy worker: a client
      // that cancels as soon as it sees the last message cuts the call before its end.
      setTimeout(() => {
        serverCancelled.push(cancelled);
        if (!cancelled) call.end();
      }, 100);
    },
    chat: unimplemented,
    detect: unimplemented,
    classify: unimplemented,
    segment: unimplemented,
    segmentUpload: unimplemented,
    pose: unimplemented,
    poseUpload: unimplemented,
    removeBackground: unimplemented,
    removeBackgroundUpload: unimplemented,
    embed: unimplemented,
    detectUpload(call, callback) {
      const seen: string[] = [];
      uploads.push(seen);
      let bytes = 0;
      let refused = false;
      call.on('cancelled', () => seen.push('cancelled'));
      call.on('data', (part: { imageChunk?: Buffer; request?: DetectRequest }) => {
        if (refused) return;
        if (part.imageChunk) {
          bytes += part.imageChunk.length;
          seen.push(String(part.imageChunk.length));
          if (bytes > UPLOAD_LIMIT) {
            refused = true;
            callback(toGrpcStatus(new VmmError(ErrorCode.PayloadTooLarge, 'too large', { field: 'image' })));
          }
        } else if (part.request) seen.push(part.request.model);
      });
      call.on('end', () => {
        if (refused) return;
        callback(null, { detections: [], imageSize: { width: bytes, height: 0 }, timings: undefined });
      });
    },
    classifyUpload: unimplemented,
  };
  server.addService(InferenceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  pool = new WorkerPool({ workers: [{ backend: 'cpu', address: `127.0.0.1:${port}` }], preference: ['cpu'] });
  // No poll: the pool's first state is "down"; mark it up as a poll would.
  const state = pool.states()[0];
  if (state) state.up = true;
});

afterAll(() => {
  pool.stop();
  server.forceShutdown();
});

/** Streams like the gateway does (stop at the last message) and returns the call's status. */
async function consume(
  maxTokens: number,
  stopAfter: number,
  prompt = 'p',
): Promise<{ texts: string[]; status: StatusObject }> {
  let ended: Promise<StatusObject> | undefined;
  const texts: string[] = [];
  const stream = pool.stream<GenerateChunk>(
    'm',
    undefined,
    (handle) => {
      const call = handle.inference.generate({
        model: 'm',
        prompt,
        raw: true,
        images: [],
        options: { stop: [], maxTokens },
        context: undefined,
      });
      ended = new Promise<StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      return call;
    },
    (message) => message.done !== undefined,
  );
  for await (const message of stream) {
    texts.push(message.text);
    if (message.done || texts.length >= stopAfter) break;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the call reported no status within 5 s')), 5000);
  });
  if (!ended) throw new Error('the pool opened no call');
  const status = await Promise.race([ended, timeout]).finally(() => clearTimeout(timer));
  return { texts, status };
}

describe('WorkerPool.stream', () => {
  it('lets a call end on its own when the consumer stops at the last message', async () => {
    const { texts, status: ended } = await consume(2, Infinity);
    expect(texts).toEqual(['t0', 't1', '']);
    expect(ended.code).toBe(status.OK);
  });

  it('cancels the call when the consumer stops before the last message', async () => {
    const { texts, status: ended } = await consume(5, 2, 'stop-early');
    expect(texts).toEqual(['t0', 't1']);
    expect(ended.code).toBe(status.CANCELLED);
    await waitFor('the server call to finish', () => serverCancelled.length >= 2);
    expect(serverCancelled).toEqual([false, true]);
  });
});

const request = (model: string) => DetectRequest.fromPartial({ model });

describe('WorkerPool.detectUpload', () => {
  it('sends the pieces as they come, then the request, and answers with the worker’s answer', async () => {
    const pieces = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3000, 3)];
    let served = '';
    const pending = await pool.detectUpload(
      'm',
      undefined,
      Readable.from(pieces),
      new Metadata(),
      (backend) => {
        served = backend;
      },
    );
    const answer = await pending.finish(request('m'));
    expect(answer.imageSize).toEqual({ width: 6000, height: 0 });
    expect(served).toBe('cpu');
    // (grpc-js reports a client stream's close to its handler as "cancelled" even after an OK.)
    expect(uploads.at(-1)?.slice(0, 4)).toEqual(['1000', '2000', '3000', 'm']);
  });

  it('fails as soon as the worker refuses, without sending the rest', async () => {
    let sent = 0;
    // Far more than the worker takes: it refuses past its limit, and the pool stops there.
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        sent += 1;
        yield Buffer.alloc(64 * 1024);
        if (sent > 10_000) throw new Error('the pool read on past the refusal');
      }
    }
    const error = await pool
      .detectUpload('m', undefined, endless(), new Metadata())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VmmError);
    expect((error as VmmError).code).toBe(ErrorCode.PayloadTooLarge);
    expect(sent).toBeLessThan(1000);
  });

  it('cancels the call when the pieces fail, and when the upload is given up', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(10);
      throw new VmmError(ErrorCode.Cancelled, 'the client closed the upload');
    }
    await expect(pool.detectUpload('m', undefined, failing(), new Metadata())).rejects.toThrow(
      'closed the upload',
    );
    await waitFor(
      'the server to see the call cancelled',
      () => uploads.at(-1)?.includes('cancelled') ?? false,
    );
    const pending = await pool.detectUpload('m', undefined, Readable.from([Buffer.alloc(5)]), new Metadata());
    pending.cancel();
    await waitFor(
      'the server to see the given-up call cancelled',
      () => uploads.at(-1)?.includes('cancelled') ?? false,
    );
    expect(uploads.at(-1)?.includes('m')).toBe(false);
  });
});
