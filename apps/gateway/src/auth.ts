import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Requires `Authorization: Bearer <key>` when keys are configured, except on health probes.
 * Keys are compared as SHA-256 digests with timingSafeEqual, so neither content nor length leaks.
 */
export function requireApiKey(
  keys: readonly string[],
  fail: (error: VmmError, req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => void,
): RequestHandler {
  const digests = keys.map((key) => createHash('sha256').update(key).digest());
  return (req, res, next) => {
    if (digests.length === 0 || OPEN_PATHS.has(req.path)) return next();
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    let ok = false;
    for (const digest of digests) ok = timingSafeEqual(digest, given) || ok;
    if (match && ok) return next();
    fail(
      new VmmError(
        ErrorCode.Unauthenticated,
        match ? 'invalid API key' : 'missing API key: send Authorization: Bearer <key>',
      ),
      req,
      res,
    );
  };
}
