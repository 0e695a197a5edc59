import type { Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import { errorResponse, type ErrorShape } from '@vmm/http-api';
import type { Logger } from 'pino';

export { shapeForPath, type ErrorShape } from '@vmm/http-api';

/**
 * The one place the gateway turns errors into HTTP responses (bodies from @vmm/http-api's
 * errorResponse). Unknown errors are a generic 500, logged with the request id.
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
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const { status, headers, body } = errorResponse(vmmError, shape);
  res.status(status).set(headers).json(body);
}
