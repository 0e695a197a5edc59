import { ErrorCode } from './error-code.js';

export interface VmmErrorOptions {
  /** The underlying error, kept for logs; never sent to clients. */
  cause?: unknown;
  /** The request field at fault, e.g. `options.temperature`. */
  field?: string;
  /** For resource_exhausted and unavailable: when retrying makes sense. */
  retryAfterMs?: number;
  /** A finer reason within the code, for APIs that name one (OpenAI's `unsupported_parameter`). */
  reason?: string;
}

/** What clients are told when an error's details must not leak. */
export const INTERNAL_MESSAGE = 'internal error';

/** The one error class VMM services throw across their boundaries. */
export class VmmError extends Error {
  override readonly name = 'VmmError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly reason: string | undefined;

  constructor(code: ErrorCode, message: string, options: VmmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason;
  }

  /**
   * Turns anything thrown into a VmmError. A VmmError is returned as it is; an abort becomes
   * `cancelled` and a timeout `deadline_exceeded`; everything else becomes `internal` with a
   * generic message, keeping the original as `cause` for the log.
   */
  static from(reason: unknown): VmmError {
    if (reason instanceof VmmError) return reason;
    if (reason instanceof Error || isDomException(reason)) {
      if (reason.name === 'AbortError') {
        return new VmmError(ErrorCode.Cancelled, 'the request was cancelled', { cause: reason });
      }
      if (reason.name === 'TimeoutError') {
        return new VmmError(ErrorCode.DeadlineExceeded, 'the deadline passed', { cause: reason });
      }
    }
    return new VmmError(ErrorCode.Internal, INTERNAL_MESSAGE, { cause: reason });
  }
}

// DOMException is an Error subclass in Node >= 17, but AbortSignal.reason may come from
// another realm (a worker thread), where instanceof fails; the name is what matters.
function isDomException(value: unknown): value is { name: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'name' in value &&
    typeof (value as { name: unknown }).name === 'string'
  );
}
