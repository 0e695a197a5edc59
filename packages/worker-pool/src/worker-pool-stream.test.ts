// WorkerPool.stream against a real gRPC server on loopback: a call that ended is never
// cancelled (each such cancel is an RST_STREAM, and enough of them make the worker's HTTP/2
// rapid-reset protection close the connection), while a consumer that stops early cancels.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Server, ServerCredentials, type StatusObject, status } from '@grpc/grpc-js';
import { type GenerateChunk, InferenceService, type InferenceServer } from '@vmm/proto';
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
    embed: unimplemented,
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
