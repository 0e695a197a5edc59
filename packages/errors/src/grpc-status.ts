import { Metadata, status } from '@grpc/grpc-js';
import { ErrorCode, isErrorCode } from './error-code.js';
import { VmmError } from './vmm-error.js';

/** The one place where error codes meet gRPC status codes. */
const grpcStatusByCode: Readonly<Record<ErrorCode, status>> = {
  [ErrorCode.Cancelled]: status.CANCELLED,
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  // Not RESOURCE_EXHAUSTED: that one means "full, retry later", and an oversize request
  // never succeeds on retry.
  [ErrorCode.PayloadTooLarge]: status.INVALID_ARGUMENT,
  [ErrorCode.UnsupportedMediaType]: status.INVALID_ARGUMENT,
  [ErrorCode.DeadlineExceeded]: status.DEADLINE_EXCEEDED,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  [ErrorCode.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorCode.PermissionDenied]: status.PERMISSION_DENIED,
  [ErrorCode.Unauthenticated]: status.UNAUTHENTICATED,
  [ErrorCode.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.FailedPrecondition]: status.FAILED_PRECONDITION,
  [ErrorCode.Aborted]: status.ABORTED,
  [ErrorCode.OutOfRange]: status.OUT_OF_RANGE,
  [ErrorCode.Unimplemented]: status.UNIMPLEMENTED,
  [ErrorCode.Unavailable]: status.UNAVAILABLE,
  [ErrorCode.DataLoss]: status.DATA_LOSS,
  [ErrorCode.Internal]: status.INTERNAL,
};

/** For statuses from peers that did not send `vmm-error-code` (plain gRPC servers, grpc-js itself). */
const codeByGrpcStatus: Readonly<Record<status, ErrorCode>> = {
  [status.OK]: ErrorCode.Internal,
  [status.CANCELLED]: ErrorCode.Cancelled,
  [status.UNKNOWN]: ErrorCode.Internal,
  [status.INVALID_ARGUMENT]: ErrorCode.InvalidArgument,
  [status.DEADLINE_EXCEEDED]: ErrorCode.DeadlineExceeded,
  [status.NOT_FOUND]: ErrorCode.NotFound,
  [status.ALREADY_EXISTS]: ErrorCode.AlreadyExists,
  [status.PERMISSION_DENIED]: ErrorCode.PermissionDenied,
  [status.RESOURCE_EXHAUSTED]: ErrorCode.ResourceExhausted,
  [status.FAILED_PRECONDITION]: ErrorCode.FailedPrecondition,
  [status.ABORTED]: ErrorCode.Aborted,
  [status.OUT_OF_RANGE]: ErrorCode.OutOfRange,
  [status.UNIMPLEMENTED]: ErrorCode.Unimplemented,
  [status.INTERNAL]: ErrorCode.Internal,
  [status.UNAVAILABLE]: ErrorCode.Unavailable,
  [status.DATA_LOSS]: ErrorCode.DataLoss,
  [status.UNAUTHENTICATED]: ErrorCode.Unauthenticated,
};

export const ERROR_CODE_TRAILER = 'vmm-error-code';
export const ERROR_FIELD_TRAILER = 'vmm-error-field';
export const RETRY_AFTER_TRAILER = 'vmm-retry-after-ms';

export function grpcStatusFor(code: ErrorCode): status {
  return grpcStatusByCode[code];
}

/** What a grpc-js handler passes to `callback(error)` or `call.emit('error', ...)`. */
export interface GrpcErrorStatus {
  code: status;
  details: string;
  metadata: Metadata;
}

export function toGrpcStatus(error: VmmError): GrpcErrorStatus {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_TRAILER, error.code);
  if (error.field !== undefined) metadata.set(ERROR_FIELD_TRAILER, error.field);
  if (error.retryAfterMs !== undefined) {
    metadata.set(RETRY_AFTER_TRAILER, String(Math.round(error.retryAfterMs)));
  }
  return { code: grpcStatusFor(error.code), details: error.message, metadata };
}

/** The parts of a grpc-js `ServiceError` (or `StatusObject`) this reads. */
export interface GrpcStatusLike {
  code: number;
  details?: string;
  metadata?: Metadata;
}

export function isGrpcStatusLike(value: unknown): value is GrpcStatusLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'number' &&
    (value as { metadata?: unknown }).metadata instanceof Metadata
  );
}

/** Rebuilds the VmmError a peer sent, or the closest one for a plain gRPC status. */
export function fromGrpcError(error: GrpcStatusLike): VmmError {
  const first = (key: string): string | undefined => {
    const value = error.metadata?.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  };
  const sent = first(ERROR_CODE_TRAILER);
  const code = isErrorCode(sent) ? sent : (codeByGrpcStatus[error.code as status] ?? ErrorCode.Internal);
  const retryAfter = Number(first(RETRY_AFTER_TRAILER));
  const field = first(ERROR_FIELD_TRAILER);
  return new VmmError(code, error.details || `gRPC status ${error.code}`, {
    cause: error,
    ...(field === undefined ? {} : { field }),
    ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter } : {}),
  });
}
