import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/;

/** A browser says so: it sends Origin on cross-site POSTs and Sec-Fetch-* on every request. */
function fromBrowser(req: IncomingMessage): boolean {
  return (
    req.headers.origin !== undefined || Object.keys(req.headers).some((name) => name.startsWith('sec-fetch-'))
  );
}

export interface ContentTypeOptions {
  /** Paths whose POST body is not JSON (read by their own routes). */
  passThrough: (path: string, type: string) => boolean;
  /** Paths whose JSON body is checked here but read by their own routes (a vision image, streamed). */
  readsItself?: (path: string) => boolean;
  fail: (error: VmmError, req: Request, res: Response) => void;
}

/**
 * JSON routes take JSON: `application/json` (or `+json`), and refuse other types with 415, so
 * a page cannot post a "simple" text/plain request. Clients outside a browser that send no
 * type, or curl's default form type (Ollama's documented `curl -d '{...}'` examples), are read
 * as JSON. Returns the check and the test express.json uses to decide which bodies to read.
 */
export function jsonContentType({ passThrough, readsItself, fail }: ContentTypeOptions): {
  check: RequestHandler;
  readsJson: (req: IncomingMessage) => boolean;
} {
  const json = new WeakSet<IncomingMessage>();
  const check: RequestHandler = (req, res, next) => {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return next();
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (passThrough(req.path, type)) return next();
    if (
      JSON_TYPE.test(type) ||
      (!fromBrowser(req) && (type === '' || type === 'application/x-www-form-urlencoded'))
    ) {
      if (!readsItself?.(req.path)) json.add(req);
      return next();
    }
    fail(
      new VmmError(
        ErrorCode.UnsupportedMediaType,
        `send the body as JSON with content-type application/json (got "${type.slice(0, 100) || 'none'}")`,
        { field: 'content-type' },
      ),
      req,
      res,
    );
  };
  return { check, readsJson: (req) => json.has(req) };
}
