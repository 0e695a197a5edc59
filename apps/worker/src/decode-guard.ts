import { Metadata, type ServiceDefinition, status, type UntypedServiceImplementation } from '@grpc/grpc-js';

/** Stands in for a request that did not decode; the guarded handler answers it. */
class Malformed {
  constructor(readonly reason: string) {}
}

/**
 * Why a message did not decode, or undefined for a message that did: what a client-streaming
 * handler checks each message of its stream with (only a unary or server-streaming call's one
 * request is answered by the guard itself).
 */
export function malformedReason(message: unknown): string | undefined {
  return message instanceof Malformed ? message.reason : undefined;
}

interface Answerable {
  request: unknown;
  emit?: (event: 'error', error: unknown) => void;
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL, as if the server had failed; the
 * fault is the caller's (a truncated message, an int64 past 2^53). This wraps a service so
 * that such a request reaches no handler and is answered INVALID_ARGUMENT, with the reason.
 */
export function guardDecoding<S extends ServiceDefinition, I extends UntypedServiceImplementation>(
  definition: S,
  implementation: I,
): [S, I] {
  const guardedDefinition = Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return method.requestDeserialize(bytes) as unknown;
          } catch (error) {
            return new Malformed(error instanceof Error ? error.message : String(error));
          }
        },
      },
    ]),
  ) as S;
  const guardedImplementation = Object.fromEntries(
    Object.entries(implementation).map(([name, handler]) => [
      name,
      (call: Answerable, callback?: (error: unknown) => void) => {
        if (!(call.request instanceof Malformed)) {
          return (handler as (call: Answerable, callback?: (error: unknown) => void) => void)(call, callback);
        }
        const error = {
          code: status.INVALID_ARGUMENT,
          details: `the request message is malformed: ${call.request.reason}`,
          metadata: new Metadata(),
        };
        if (callback) callback(error);
        else call.emit?.('error', error);
      },
    ]),
  ) as unknown as I;
  return [guardedDefinition, guardedImplementation];
}
