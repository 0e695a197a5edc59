/**
 * The closed set of error codes VMM services produce. The names follow gRPC's status codes so
 * that every code has an exact gRPC meaning; `payload_too_large` is VMM's own, because an HTTP
 * client must be able to tell "body too big" (413) from "server full" (429).
 */
export enum ErrorCode {
  /** The caller cancelled, or went away. */
  Cancelled = 'cancelled',
  /** A request field is missing, malformed or out of range. */
  InvalidArgument = 'invalid_argument',
  /** The request or one of its parts (an image, a batch) is larger than allowed. */
  PayloadTooLarge = 'payload_too_large',
  /** The body's content type is not one the route reads (e.g. text/plain to a JSON route). */
  UnsupportedMediaType = 'unsupported_media_type',
  /** The deadline passed before the work finished. */
  DeadlineExceeded = 'deadline_exceeded',
  /** The named model, batch or route does not exist. */
  NotFound = 'not_found',
  /** The thing to create exists already. */
  AlreadyExists = 'already_exists',
  /** Authenticated, but not allowed to do this. */
  PermissionDenied = 'permission_denied',
  /** No valid credentials. */
  Unauthenticated = 'unauthenticated',
  /** A running or queued limit is reached; retrying later may succeed. */
  ResourceExhausted = 'resource_exhausted',
  /** The system is not in a state that allows this, e.g. a detector asked to chat. */
  FailedPrecondition = 'failed_precondition',
  /** A concurrent change won; retry from the start. */
  Aborted = 'aborted',
  /** A value lies past the end of a valid range, e.g. a page past the last. */
  OutOfRange = 'out_of_range',
  /** This server does not implement the operation (e.g. a backend not built in). */
  Unimplemented = 'unimplemented',
  /** The service cannot answer now (shutting down, no worker); retrying later may succeed. */
  Unavailable = 'unavailable',
  /** Stored data is lost or corrupt. */
  DataLoss = 'data_loss',
  /** A bug or an unexpected failure; the message is generic, the cause is logged. */
  Internal = 'internal',
}

const codes = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}
