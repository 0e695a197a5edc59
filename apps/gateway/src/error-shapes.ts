import type { Response } from 'express';
import { ErrorCode, errorBody, errorHeaders, httpStatusFor, VmmError } from '@vmm/errors';
import type { Logger } from 'pino';

/** Which ecosystem's error body a route answers with. */
export type ErrorShape = 'vmm' | 'ollama' | 'openai';

const openAiTypes: Readonly<Partial<Record<ErrorCode, string>>> = {
  [ErrorCode.Unauthenticated]: 'authentication_error',
  [ErrorCode.PermissionDenied]: 'permission_error',
  [ErrorCode.NotFound]: 'not_found_error',
  [ErrorCode.ResourceExhausted]: 'rate_limit_error',
};

/**
 * The one place the gateway turns errors into HTTP responses: the status from @vmm/errors, the
 * body in the route's ecosystem — VMM `{error: {code, message}}`, Ollama `{error: "..."}`,
 * OpenAI `{error: {message, type, param, code}}`. Unknown errors are a generic 500, logged.
 */
export function sendError(
  res: Response,
  error: unknown,
  shape: ErrorShape,
  logger: Logger,
  requestId: string,
): void {
  const vmmError = VmmError.from(error);
  if (vmmError.code === ErrorCode.Internal)
    logger.error({ err: vmmError.cause ?? vmmError, requestId }, 'internal error');
  const httpStatus = httpStatusFor(vmmError.code);
  if (res.headersSent) {
    // Mid-stream: the status is gone; end the stream with an error line in the route's shape.
    if (!res.writableEnded) res.end();
    return;
  }
  res.status(httpStatus).set(errorHeaders(vmmError));
  if (shape === 'ollama') {
    res.json({ error: vmmError.message });
  } else if (shape === 'openai') {
    res.json({
      error: {
        message: vmmError.message,
        type: openAiTypes[vmmError.code] ?? (httpStatus >= 500 ? 'server_error' : 'invalid_request_error'),
        param: vmmError.field ?? null,
        code: vmmError.code === ErrorCode.NotFound ? 'model_not_found' : vmmError.code,
      },
    });
  } else {
    res.json(errorBody(vmmError));
  }
}

export function shapeForPath(path: string): ErrorShape {
  if (path.startsWith('/api/')) return 'ollama';
  if (path.startsWith('/v1/chat/') || path.startsWith('/v1/completions') || path.startsWith('/v1/models'))
    return 'openai';
  return 'vmm';
}
