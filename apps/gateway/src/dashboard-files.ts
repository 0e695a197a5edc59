import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

// The dashboard: Vite's build of apps/dashboard, served at `/` from the same origin as the API,
// so it needs no CORS and uses the same API key. Only `/` and `/assets/*` are files; the pages
// are hash routes of the one index.html. The files are public (the key is asked for in the page).

const POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

export function dashboardFiles(
  dir: string | undefined,
  fail: (error: VmmError, req: Request, res: Response) => void,
): Router {
  const router = Router();
  // `/` is the dashboard for a browser (Accept: text/html); anything else gets Ollama's
  // "is running" text from the gateway's own route.
  router.get('/', (req, _res, next) => {
    if (req.accepts(['text/plain', 'text/html']) === 'text/html') next();
    else next('router');
  });
  const index = dir === undefined ? undefined : join(dir, 'index.html');
  if (index === undefined || !existsSync(index)) {
    router.get('/', (req, res) =>
      fail(
        new VmmError(
          ErrorCode.NotFound,
          dir === undefined
            ? 'the dashboard is off (VMM_DASHBOARD_DIR=off)'
            : `the dashboard is not built (no ${index}): run \`npm run build\``,
        ),
        req,
        res,
      ),
    );
    return router;
  }
  const headers = (res: Response) =>
    res.set({
      'content-security-policy': POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  router.get(['/', '/index.html'], (_req, res) => {
    headers(res).set('cache-control', 'no-cache');
    res.sendFile(index);
  });
  // Vite names assets by content hash: they never change under one name.
  router.use(
    '/assets',
    express.static(join(dir as string, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      setHeaders: (res) => headers(res as Response),
    }),
  );
  return router;
}
