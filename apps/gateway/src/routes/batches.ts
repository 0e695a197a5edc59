import express, { type Request, type Response, Router } from 'express';
import { type BatchService, parseBatchInput } from '@vmm/batch';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { requestIdOf, type RouteDeps } from '../request-context.js';

export interface BatchDeps extends RouteDeps {
  /** Undefined when the gateway runs without batch support. */
  batches: { service: BatchService; redis: Redis; url: string } | undefined;
  maxItems: number;
  maxBytes: number;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().min(1).optional(),
});

/** OpenAI-Batch-style routes over BullMQ; without Redis they answer 503 and nothing else changes. */
export function batchRouter(deps: BatchDeps): Router {
  const router = Router();
  const { logger } = deps;

  const service = (): BatchService => {
    if (!deps.batches || deps.batches.redis.status !== 'ready') {
      throw new VmmError(
        ErrorCode.Unavailable,
        // The URL is shown without its credentials (redacted when the gateway is built).
        `batch jobs need Redis at ${deps.batches?.url ?? 'REDIS_URL'}, which does not answer; the rest of the API works without it`,
        { retryAfterMs: 5000 },
      );
    }
    return deps.batches.service;
  };
  const handle = (run: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => {
    void run(req, res).catch((error: unknown) => sendError(res, error, 'openai', logger, requestIdOf(res)));
  };

  router.post(
    '/v1/batches',
    // Batches come as JSONL (or JSON): read the body as text, whatever its content type.
    express.text({ type: () => true, limit: deps.maxBytes }),
    handle(async (req, res) => {
      const batches = service();
      const text = typeof req.body === 'string' ? req.body : '';
      const items = parseBatchInput(text, { maxItems: deps.maxItems, maxPromptBytes: deps.maxPromptBytes });
      const key = req.get('idempotency-key');
      const batch = await batches.create(items, key ? { idempotencyKey: key.slice(0, 200) } : {});
      res.status(200).json(batch);
    }),
  );
  router.get(
    '/v1/batches',
    handle(async (req, res) => {
      const parsed = listQuery.safeParse(req.query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new VmmError(ErrorCode.InvalidArgument, `${String(issue?.path[0])}: ${issue?.message}`, {
          field: String(issue?.path[0]),
        });
      }
      res.json(await service().list(parsed.data.limit, parsed.data.after));
    }),
  );
  router.get(
    '/v1/batches/:id',
    handle(async (req, res) => void res.json(await service().get(String(req.params.id)))),
  );
  router.post(
    '/v1/batches/:id/cancel',
    handle(async (req, res) => void res.json(await service().cancel(String(req.params.id)))),
  );
  router.get(
    '/v1/batches/:id/results',
    handle(async (req, res) => {
      res.type('application/jsonl').send(await service().results(String(req.params.id)));
    }),
  );
  return router;
}
