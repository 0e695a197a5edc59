import type { Metadata, ServerWritableStream, StatusObject } from '@grpc/grpc-js';
import { ErrorCode, toGrpcStatus, VmmError } from '@vmm/errors';
import type { Logger } from 'pino';

/**
 * The one place worker errors become gRPC statuses: a VmmError keeps its code, field and retry
 * hint (in trailers); anything else is INTERNAL with a generic message, logged with the
 * request id and its cause.
 */
export function toStatus(error: unknown, logger: Logger, requestId: string): Partial<StatusObject> {
  const vmmError = VmmError.from(error);
  if (vmmError.code === ErrorCode.Internal)
    logger.error({ err: vmmError.cause ?? vmmError, requestId }, 'internal error');
  else logger.debug({ code: vmmError.code, message: vmmError.message, requestId }, 'request failed');
  return toGrpcStatus(vmmError);
}

/** The request id from the request's context, else the x-request-id header, else a new one. */
export function requestIdOf(fromRequest: string | undefined, metadata: Metadata): string {
  if (fromRequest) return fromRequest;
  const header = metadata.get('x-request-id')[0];
  return typeof header === 'string' && header.length > 0 ? header : crypto.randomUUID();
}

/** Writes one message, waiting for the transport when its buffer is full. */
export function writeWithBackpressure<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (call.write(message)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

/** An AbortSignal that fires when the client cancels or its deadline passes. */
export function signalOf(call: {
  on(event: 'cancelled', listener: () => void): unknown;
  cancelled: boolean;
}): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.on('cancelled', () => controller.abort());
  return controller.signal;
}
