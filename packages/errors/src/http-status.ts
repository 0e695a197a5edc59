import { ErrorCode } from './error-code.js';
import type { VmmError } from './vmm-error.js';

/** The one place where error codes meet HTTP statuses. */
const httpStatusByCode: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.Cancelled]: 499,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.DeadlineExceeded]: 504,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.ResourceExhausted]: 429,
  [ErrorCode.FailedPrecondition]: 400,
  [ErrorCode.Aborted]: 409,
  [ErrorCode.OutOfRange]: 400,
  [ErrorCode.Unimplemented]: 501,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.DataLoss]: 500,
  [ErrorCode.Internal]: 500,
};

export function httpStatusFor(code: ErrorCode): number {
  return httpStatusByCode[code];
}

/** VMM's own JSON error shape: `{ "error": { "code", "message", "field"? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(error: VmmError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field === undefined ? {} : { field: error.field }),
    },
  };
}

/** Headers the response should carry, e.g. Retry-After (whole seconds, rounded up). */
export function errorHeaders(error: VmmError): Record<string, string> {
  if (error.retryAfterMs === undefined) return {};
  return { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
}
