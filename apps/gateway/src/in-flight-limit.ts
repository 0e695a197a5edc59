import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * At most `limit` of the requests `counts` picks in the gateway at once; the next is answered
 * 503 with Retry-After before any of its body is read. `what` names them in that answer.
 */
export function inFlightLimit(
  limit: number,
  counts: (path: string) => boolean,
  what: string,
  fail: (error: VmmError, req: Request, res: Response) => void,
): RequestHandler {
  let inFlight = 0;
  return (req, res, next) => {
    if (!counts(req.path)) return next();
    if (inFlight >= limit) {
      return fail(
        new VmmError(ErrorCode.Unavailable, `the gateway is handling ${inFlight} ${what}, its limit`, {
          retryAfterMs: 1000,
        }),
        req,
        res,
      );
    }
    inFlight += 1;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      inFlight -= 1;
    };
    res.on('finish', release);
    res.on('close', release);
    next();
  };
}
