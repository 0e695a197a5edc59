import { ErrorCode, isErrorCode, VmmError } from '@vmm/errors';

/** Messages from the owning thread to a session thread. */
export type HostMessage =
  | { kind: 'call'; id: number; method: string; payload: unknown }
  | { kind: 'cancel'; id: number }
  /** The consumer took `count` more stream items: the producer may send that many more. */
  | { kind: 'ack'; id: number; count: number }
  /** End the thread as a crash would, once no native run is pending (ThreadHost.kill). */
  | { kind: 'exit' }
  /** Are you there? (ThreadHost's watchdog; answered with a pong.) */
  | { kind: 'ping'; id: number };

/** Messages from a session thread to its owner. */
export type ThreadMessage =
  /** Serving; `runClock` is the shared memory where the thread marks a pending native run. */
  | { kind: 'ready'; runClock?: SharedArrayBuffer }
  | { kind: 'next'; id: number; value: unknown }
  | { kind: 'done'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  /** The thread's event loop is alive. */
  | { kind: 'pong'; id: number };

export interface SerializedError {
  code: string;
  message: string;
  field?: string;
  retryAfterMs?: number;
}

/** How many stream items may be in flight before the producer waits for the consumer. */
export const STREAM_WINDOW = 32;

/**
 * The consumer acknowledges stream items in batches of this many: an ack per item was one more
 * message (and a wake of the model's thread) per generated token. Smaller than the window, so a
 * producer always has credit left while the consumer keeps reading.
 */
export const STREAM_ACK_EVERY = 8;

export function serializeError(error: unknown): SerializedError {
  const vmmError = VmmError.from(error);
  return {
    code: vmmError.code,
    message: vmmError.message,
    ...(vmmError.field === undefined ? {} : { field: vmmError.field }),
    ...(vmmError.retryAfterMs === undefined ? {} : { retryAfterMs: vmmError.retryAfterMs }),
  };
}

export function deserializeError(error: SerializedError): VmmError {
  return new VmmError(isErrorCode(error.code) ? error.code : ErrorCode.Internal, error.message, {
    ...(error.field === undefined ? {} : { field: error.field }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}
