import type { Readable } from 'node:stream';
import express, { type Request, type Response, Router } from 'express';
import {
  BATCH_URLS,
  type BatchService,
  type BatchItem,
  type BatchUrl,
  type FileStore,
  parseBatchInput,
  RUNNER_TTL_MS,
} from '@vmm/batch';
import { parseBody } from '@vmm/http-api';
import { ErrorCode, VmmError } from '@vmm/errors';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import type { RedisHealth } from '../redis-health.js';
import { requestIdOf, type RouteDeps } from '../request-context.js';
import type { TransferSlots } from '../transfer-slots.js';

export interface BatchDeps extends RouteDeps {
  /** Undefined when the gateway runs without batch support. */
  batches: { service: BatchService; files: FileStore; health: RedisHealth } | undefined;
  maxItems: number;
  maxBytes: number;
  /** File transfers at once (VMM_MAX_UPLOADS), shared with uploads. */
  transfers: TransferSlots;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** OpenAI's batch from an uploaded file. */
export const fromFileSchema = z.strictObject({
  input_file_id: z.string().min(1).max(200),
  endpoint: z.enum(Object.keys(BATCH_URLS) as [BatchUrl, ...BatchUrl[]]),
  // OpenAI offers 24h; VMM runs a batch as soon as workers are free, whatever the window.
  completion_window: z.string().regex(/^\d{1,4}h$/, 'a number of hours, such as "24h"'),
  metadata: z.record(z.string().max(64), z.string().max(512)).optional(),
  output_expires_after: z.unknown().optional(),
});

export const batchListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().min(1).optional(),
});

/** A JSON object naming an input file (OpenAI's flow), else undefined (inline JSONL). */
function fileRequest(text: string): Record<string, unknown> | undefined {
  if (!text.includes('input_file_id')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) && 'input_file_id' in value
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses a batch that nothing would run: no runner has said it is alive lately. */
async function someRunner(batches: BatchService): Promise<void> {
  if ((await batches.runnersAlive()) === 0)
    throw new VmmError(
      ErrorCode.Unavailable,
      `no batch runner is running (none has reported in ${RUNNER_TTL_MS / 1000} s): the batch would never run; start one (vmm serve does when Redis answers)`,
      { retryAfterMs: 5000 },
    );
}

/** OpenAI-Batch-style routes over BullMQ; without Redis they answer 503 and nothing else changes. */
export function batchRouter(deps: BatchDeps): Router {
  const router = Router();
  const { logger } = deps;

  const service = (): BatchService => {
    if (!deps.batches)
      throw new VmmError(ErrorCode.Unavailable, 'this gateway runs without batch jobs (no Redis)', {
        retryAfterMs: 5000,
      });
    deps.batches.health.check('batch jobs');
    return deps.batches.service;
  };
  const handle = (run: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => {
    void run(req, res).catch((error: unknown) =>
      sendError(res, deps.batches?.health.failure(error) ?? error, 'openai', logger, requestIdOf(res)),
    );
  };

  router.post(
    '/v1/batches',
    // Batches come as JSONL (or JSON): read the body as text, whatever its content type.
    express.text({ type: () => true, limit: deps.maxBytes }),
    handle(async (req, res) => {
      const batches = service();
      const text = typeof req.body === 'string' ? req.body : '';
      const key = req.get('idempotency-key');
      const idempotency = key ? { idempotencyKey: key.slice(0, 200) } : {};
      const limits = { maxItems: deps.maxItems, maxPromptBytes: deps.maxPromptBytes };
      const fromFile = fileRequest(text);
      if (fromFile) {
        // OpenAI's flow: the items are an uploaded file's lines, all for the batch's endpoint.
        const body = parseBody(fromFileSchema, fromFile);
        const files = deps.batches?.files;
        const file = await files?.get(body.input_file_id);
        if (!files || file?.purpose !== 'batch')
          throw new VmmError(
            ErrorCode.InvalidArgument,
            `file "${body.input_file_id}" was not uploaded for a batch`,
            {
              field: 'input_file_id',
            },
          );
        // The file is read whole to check every line before anything is queued; a transfer
        // slot bounds how many are held at once.
        const release = deps.transfers.take();
        let items: BatchItem[];
        try {
          items = parseBatchInput(await readText(await files.content(body.input_file_id)), limits);
        } finally {
          release();
        }
        const other = items.findIndex((item) => item.url !== body.endpoint);
        if (other >= 0)
          throw new VmmError(
            ErrorCode.InvalidArgument,
            `line ${other + 1} of the file is for ${items[other]?.url}, not the batch's endpoint ${body.endpoint}`,
            { field: 'input_file_id' },
          );
        await someRunner(batches);
        const batch = await batches.create(items, {
          ...idempotency,
          inputFileId: body.input_file_id,
          completionWindow: body.completion_window,
          ...(body.metadata ? { metadata: body.metadata } : {}),
        });
        res.status(200).json(batch);
        return;
      }
      const items = parseBatchInput(text, limits);
      await someRunner(batches);
      const batch = await batches.create(items, idempotency);
      res.status(200).json(batch);
    }),
  );
  router.get(
    '/v1/batches',
    handle(async (req, res) => {
      const query = parseBody(batchListQuery, req.query);
      res.json(await service().list(query.limit, query.after));
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
