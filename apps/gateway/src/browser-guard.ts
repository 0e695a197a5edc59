import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

// What keeps a web page from using a VMM on the same machine: browsers send any page's POST
// (a "simple" text/plain or form request needs no preflight) and let a DNS name that resolves
// to 127.0.0.1 reach loopback servers. As Ollama does, browser origins must be allowed
// (loopback ones are; VMM_ORIGINS adds more), and a loopback-bound gateway only answers Host
// names that are loopback.

const LOOPBACK_ORIGIN =
  /^(https?):\/\/(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(:\d{1,5})?$/i;
const LOOPBACK_HOST = /^(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0)(:\d{1,5})?$/i;
const LOOPBACK_BIND = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

const ALLOWED_HEADERS = 'authorization, content-type, x-request-id, x-vmm-backend, idempotency-key';

/** A pattern of VMM_ORIGINS (`https://*.example.com`, or `*` for any) as a test. */
function originPattern(pattern: string): (origin: string) => boolean {
  if (pattern === '*') return () => true;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('[^/]*');
  const regex = new RegExp(`^${source}$`, 'i');
  return (origin) => regex.test(origin);
}

/** Whether `origin` is http(s)://`host` — the page was served by this gateway. */
function sameOrigin(origin: string, host: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

export interface BrowserGuardOptions {
  /** Extra allowed origins (VMM_ORIGINS). */
  origins: readonly string[];
  /** The address the gateway binds: Host names are checked when it is loopback. */
  bindHost: string;
  fail: (error: VmmError, req: Request, res: Response) => void;
}

/** Checks Origin and Host, answers CORS preflights, and sets CORS headers for allowed origins. */
export function browserGuard({ origins, bindHost, fail }: BrowserGuardOptions): RequestHandler {
  const allowed = [LOOPBACK_ORIGIN.test.bind(LOOPBACK_ORIGIN), ...origins.map(originPattern)];
  const checkHost = LOOPBACK_BIND.test(bindHost);
  return (req, res, next) => {
    const host = req.headers.host;
    if (checkHost && host !== undefined && !LOOPBACK_HOST.test(host)) {
      return fail(
        new VmmError(
          ErrorCode.PermissionDenied,
          `host "${host.slice(0, 100)}" is not allowed: this gateway listens on loopback only (set VMM_HTTP_HOST to serve other names)`,
        ),
        req,
        res,
      );
    }
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    // The dashboard calls its own origin: whatever name the gateway was reached by (the Host
    // check above has vetted it on loopback), a page from that origin may use the API.
    if (host !== undefined && sameOrigin(origin, host)) return next();
    if (!allowed.some((test) => test(origin))) {
      return fail(
        new VmmError(
          ErrorCode.PermissionDenied,
          `origin "${origin.slice(0, 200)}" is not allowed; add it to VMM_ORIGINS`,
        ),
        req,
        res,
      );
    }
    res.set({
      'access-control-allow-origin': origin,
      'access-control-expose-headers': 'x-request-id, retry-after',
      vary: 'Origin',
    });
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res
        .status(204)
        .set({
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': '600',
        })
        .end();
      return;
    }
    next();
  };
}
