import { type MessagePort, parentPort } from 'node:worker_threads';
import { ErrorCode, VmmError } from '@vmm/errors';
import { exitBetweenRuns, nativeRunClock } from './native-runs.js';
import { type HostMessage, serializeError, STREAM_WINDOW, type ThreadMessage } from './protocol.js';

export interface CallContext {
  /** Aborted when the caller cancels; check it between steps. */
  signal: AbortSignal;
}

/** A method a session thread serves: a promise for one answer, an async iterable for a stream. */
export type ThreadHandler = (
  payload: unknown,
  context: CallContext,
) => Promise<unknown> | AsyncIterable<unknown>;

/** Lets the thread's event loop run, so cancel and ack messages arrive between model steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An answer whose buffers move to the owner instead of being copied (see `transferring`). */
class Transferring {
  constructor(
    readonly value: unknown,
    readonly buffers: ArrayBuffer[],
  ) {}
}

/**
 * Wraps a handler's answer so that `buffers` (which the answer holds) are moved to the owning
 * thread, not copied: a preprocessed image is megabytes. The thread must not touch them after.
 */
export function transferring(value: unknown, buffers: ArrayBuffer[]): unknown {
  return new Transferring(value, buffers);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Serves `handlers` to the thread that started this one. Calls run concurrently; a stream
 * pauses once STREAM_WINDOW items are unacknowledged, so a slow consumer never makes the
 * producer buffer without bound.
 */
export function serveThread(
  handlers: Readonly<Record<string, ThreadHandler>>,
  port: MessagePort | null = parentPort,
): void {
  if (!port) throw new Error('serveThread must run in a worker thread');
  const calls = new Map<number, { controller: AbortController; credit: number; wake?: () => void }>();
  const send = (message: ThreadMessage, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

  async function run(id: number, method: string, payload: unknown): Promise<void> {
    const call = {
      controller: new AbortController(),
      credit: STREAM_WINDOW,
      wake: undefined as (() => void) | undefined,
    };
    calls.set(id, call);
    try {
      const handler = handlers[method];
      if (!handler) throw new VmmError(ErrorCode.Unimplemented, `this thread has no method "${method}"`);
      const result = handler(payload, { signal: call.controller.signal });
      if (isAsyncIterable(result)) {
        for await (const value of result) {
          while (call.credit <= 0 && !call.controller.signal.aborted) {
            await new Promise<void>((resolve) => (call.wake = resolve));
          }
          call.credit -= 1;
          send({ kind: 'next', id, value });
        }
        send({ kind: 'done', id, value: undefined });
      } else {
        const value = await result;
        if (value instanceof Transferring) send({ kind: 'done', id, value: value.value }, value.buffers);
        else send({ kind: 'done', id, value });
      }
    } catch (error) {
      send({ kind: 'error', id, error: serializeError(error) });
    } finally {
      calls.delete(id);
    }
  }

  port.on('message', (message: HostMessage) => {
    if (message.kind === 'call') {
      void run(message.id, message.method, message.payload);
      return;
    }
    if (message.kind === 'exit') {
      exitBetweenRuns(1);
      return;
    }
    if (message.kind === 'ping') {
      send({ kind: 'pong', id: message.id });
      return;
    }
    const call = calls.get(message.id);
    if (!call) return;
    if (message.kind === 'cancel') call.controller.abort();
    else call.credit += message.count;
    call.wake?.();
    call.wake = undefined;
  });
  send({ kind: 'ready', runClock: nativeRunClock() });
}
