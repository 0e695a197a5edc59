import { pipeline } from 'node:stream/promises';
import { type Request, type Response, Router } from 'express';
import { type BatchService, type FileStore, parseBatchFileId } from '@vmm/batch';
import { ErrorCode, VmmError } from '@vmm/errors';
import { parseBody } from '@vmm/http-api';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { streamMultipart } from '../multipart.js';
import type { TransferSlots } from '../transfer-slots.js';
import { requestIdOf, type RouteDeps } from '../request-context.js';

export interface FileDeps extends RouteDeps {
  /** Both throw UNAVAILABLE while Redis does not answer. */
  files: () => FileStore;
  batches: () => BatchService;
  /** A Redis failure met mid-request as its 503; anything else as it was. */
  redisFailure: (error: unknown) => unknown;
  maxBytes: number;
  /** File transfers at once (VMM_MAX_UPLOADS), shared with batches made from files. */
  transfers: TransferSlots;
}

export const fileListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  after: z.string().min(1).optional(),
  purpose: z.string().min(1).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

/**
 * OpenAI's `/v1/files` for the batch flow: upload (`purpose: "batch"`), list, get, content,
 * delete. A batch's output and error files are its results, served under the ids its Batch
 * object gives.
 */
export function filesRouter(deps: FileDeps): Router {
  const router = Router();
  const handle = (run: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => {
    void run(req, res).catch((error: unknown) =>
      sendError(res, deps.redisFailure(error), 'openai', deps.logger, requestIdOf(res)),
    );
  };

  /** A batch's output or error file: its object, and its content. */
  async function batchFile(
    id: string,
  ): Promise<{ view: ReturnType<FileStore['view']>; content: string } | undefined> {
    const named = parseBatchFileId(id);
    if (!named) return undefined;
    const batch = await deps.batches().get(named.batchId);
    if ((named.kind === 'out' ? batch.output_file_id : batch.error_file_id) !== id)
      throw new VmmError(ErrorCode.NotFound, `file "${id}" not found`, { field: 'file_id' });
    const content = await deps.batches().results(named.batchId, named.kind);
    const ended = batch.completed_at ?? batch.cancelled_at ?? batch.created_at;
    return {
      view: deps
        .files()
        .view(
          id,
          ended * 1000,
          Buffer.byteLength(content),
          `${named.batchId}_${named.kind === 'out' ? 'output' : 'error'}.jsonl`,
          'batch_output',
        ),
      content,
    };
  }

  router.post(
    '/v1/files',
    handle(async (req, res) => {
      if (!req.is('multipart/form-data'))
        throw new VmmError(
          ErrorCode.UnsupportedMediaType,
          'upload the file as multipart/form-data (fields file and purpose)',
          {
            field: 'file',
          },
        );
      // Checked before any of the body is read: Redis must answer, and the transfers at once
      // are bounded (each holds a connection to the file store, and a part's worth of memory).
      const files = deps.files();
      const release = deps.transfers.take();
      try {
        const form = await streamMultipart(
          req,
          deps.maxBytes,
          (stream, name) => {
            if (name !== 'file') {
              return Promise.reject(
                new VmmError(
                  ErrorCode.InvalidArgument,
                  `the file goes in the field "file", not "${name.slice(0, 40)}"`,
                  {
                    field: 'file',
                  },
                ),
              );
            }
            return files.receive(stream);
          },
          (received) => files.discard(received),
        );
        const file = form.file;
        if (!file) throw new VmmError(ErrorCode.InvalidArgument, 'file is required', { field: 'file' });
        res.json(await files.commit(file.received, file.filename || 'upload.jsonl', form.fields.purpose));
      } finally {
        release();
      }
    }),
  );
  router.get(
    '/v1/files',
    handle(async (req, res) => {
      const query = parseBody(fileListQuery, req.query);
      res.json(await deps.files().list(query.limit, query.after, query.purpose));
    }),
  );
  router.get(
    '/v1/files/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const virtual = await batchFile(id);
      res.json(virtual ? virtual.view : await deps.files().get(id));
    }),
  );
  router.get(
    '/v1/files/:id/content',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const virtual = await batchFile(id);
      if (virtual) {
        res.type('application/jsonl').send(virtual.content);
        return;
      }
      const content = await deps.files().content(id);
      res.type('application/jsonl');
      // Streamed from the file store with backpressure; a store that fails mid-way cuts the
      // response (its length was never promised), and the failure is logged.
      await pipeline(content, res).catch((error: unknown) =>
        deps.logger.warn({ err: (error as Error).message, file: id }, 'file content cut off'),
      );
    }),
  );
  router.delete(
    '/v1/files/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      if (parseBatchFileId(id))
        throw new VmmError(
          ErrorCode.FailedPrecondition,
          `file "${id}" is a batch's results: it expires with the batch`,
          {
            field: 'file_id',
          },
        );
      res.json(await deps.files().remove(id));
    }),
  );
  return router;
}
