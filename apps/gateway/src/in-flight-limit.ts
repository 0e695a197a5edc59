import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * At most `limit` requests in the gateway at once; the next is answered 503 with Retry-After
 * before any of its body is read. Paths in `exempt` (probes, metrics) are never refused.
 */
export function inFlightLimit(
  limit: number,
  exempt: ReadonlySet<string>,
  fail: (error: VmmError, req: Request, res: Response) => void,
): RequestHandler {
  let inFlight = 0;
  return (req, res, next) => {
    if (exempt.has(req.path)) return next();
    if (inFlight >= limit) {
      return fail(
        new VmmError(ErrorCode.Unavailable, `the gateway is handling ${inFlight} requests, its limit`, {
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
