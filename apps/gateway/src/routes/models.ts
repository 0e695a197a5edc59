import type { ClientReadableStream } from '@grpc/grpc-js';
import { type Response, Router } from 'express';
import { ErrorCode, fromGrpcError, httpStatusFor, isGrpcStatusLike, VmmError } from '@vmm/errors';
import {
  canonicalModelName,
  checkDigest,
  checkModelText,
  type ModelRecipe,
  parametersFromJson,
  parseModelfile,
} from '@vmm/model-store';
import type { ModelParameter, ModelProgress } from '@vmm/proto';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { ollamaBody } from '../ollama-body.js';
import { metadataOf, requestIdOf, type RouteDeps } from '../request-context.js';

export const nameFields = { model: z.string().min(1).optional(), name: z.string().min(1).optional() };

export const pullSchema = z.strictObject({
  ...nameFields,
  stream: z.boolean().optional(),
  insecure: z.boolean().optional(),
});

export const createSchema = z.strictObject({
  ...nameFields,
  from: z.string().min(1).optional(),
  files: z.record(z.string(), z.string()).optional(),
  adapters: z.record(z.string(), z.string()).optional(),
  template: z.string().optional(),
  system: z.string().optional(),
  license: z.union([z.string(), z.array(z.string())]).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
  quantize: z.string().optional(),
  modelfile: z
    .string()
    .max(1024 * 1024)
    .optional(),
  stream: z.boolean().optional(),
});

export const copySchema = z.strictObject({ source: z.string().min(1), destination: z.string().min(1) });

export const deleteSchema = z.strictObject(nameFields);

const nameOf = (body: { model?: string | undefined; name?: string | undefined }): string => {
  const name = body.model ?? body.name;
  if (!name) throw new VmmError(ErrorCode.InvalidArgument, 'model is required', { field: 'model' });
  return canonicalModelName(name);
};

const toVmmError = (error: unknown) =>
  isGrpcStatusLike(error) ? fromGrpcError(error) : VmmError.from(error);

/** One progress line in Ollama's shape: unset fields left out. */
const progressLine = (line: ModelProgress) => ({
  status: line.status,
  ...(line.digest === undefined ? {} : { digest: line.digest }),
  ...(line.total === undefined ? {} : { total: line.total }),
  ...(line.completed === undefined ? {} : { completed: line.completed }),
});

/**
 * Ollama's model management: pull (from the Hugging Face Hub), create, copy, delete, blobs.
 * The models directory is shared by the workers: any one of them does the work.
 */
export function modelsRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger } = deps;
  const fail = (res: Response, error: unknown) =>
    sendError(res, toVmmError(error), 'ollama', logger, requestIdOf(res));

  /** Refuses (409) while any worker runs `model`, at its latest report: delete, create and copy alike. */
  async function refuseWhileRunning(model: string, action: string): Promise<void> {
    await pool.refresh().catch(() => undefined);
    for (const state of pool.states()) {
      const loaded = state.info?.loadedModels.find((entry) => entry.model?.name === model);
      if (loaded && loaded.running + loaded.queued > 0)
        throw new VmmError(
          ErrorCode.Aborted,
          `model "${model}" is in use by ${loaded.running + loaded.queued} request(s) on worker ${state.id}; ${action} it when they have ended`,
          { field: 'model' },
        );
    }
  }

  /** Unloads `model` wherever it is loaded: the next request loads what the store holds now. */
  async function unloadWherever(model: string): Promise<void> {
    if (pool.states().some((state) => state.info?.loadedModels.some((entry) => entry.model?.name === model)))
      await pool.unloadEverywhere(model);
  }

  /**
   * Relays a worker's progress stream: NDJSON lines as they come (Ollama's default), or only
   * the last line with `stream: false`. A failure after the first line is a last `{"error"}`
   * line, as Ollama sends it; the client going away cancels the call (and so the pull).
   */
  async function relay(
    res: Response,
    call: ClientReadableStream<ModelProgress>,
    stream: boolean,
    /** Run once the worker has succeeded, before the answer ends. */
    after?: () => Promise<void>,
  ): Promise<void> {
    res.on('close', () => {
      if (!res.writableFinished) call.cancel();
    });
    let last: ModelProgress | undefined;
    try {
      for await (const line of call as AsyncIterable<ModelProgress>) {
        last = line;
        if (!stream) continue;
        if (!res.headersSent) res.status(200).type('application/x-ndjson');
        res.write(`${JSON.stringify(progressLine(line))}\n`);
      }
      await after?.();
      if (stream) res.end();
      else res.json(progressLine(last ?? { status: 'success' }));
      await pool.refresh().catch(() => undefined);
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) res.end(`${JSON.stringify({ error: toVmmError(error).message })}\n`);
        return;
      }
      if (res.destroyed) return; // the client went away
      fail(res, error);
    }
  }

  router.post('/api/pull', (req, res) => {
    try {
      const body = ollamaBody(pullSchema, req.body, res, logger);
      const model = nameOf(body);
      const call = pool.storeWorker().models.pull({ model, requestId: requestIdOf(res) }, metadataOf(res));
      void relay(res, call, body.stream ?? true);
    } catch (error) {
      fail(res, error);
    }
  });

  router.post('/api/create', (req, res) => {
    void (async () => {
      const body = ollamaBody(createSchema, req.body, res, logger);
      const model = nameOf(body);
      if (body.quantize !== undefined)
        throw new VmmError(
          ErrorCode.InvalidArgument,
          'quantize is not supported: pull a quantized variant instead (hf.co/ORG/REPO:q4)',
          { field: 'quantize' },
        );
      if (body.adapters && Object.keys(body.adapters).length > 0)
        throw new VmmError(ErrorCode.InvalidArgument, 'adapters are not supported', { field: 'adapters' });
      if (body.messages && body.messages.length > 0)
        throw new VmmError(ErrorCode.InvalidArgument, 'messages are not supported', { field: 'messages' });
      // The JSON fields win over a Modelfile's lines, as in Ollama.
      const recipe: ModelRecipe = body.modelfile === undefined ? {} : parseModelfile(body.modelfile);
      const parameters = {
        ...recipe.parameters,
        ...(body.parameters ? parametersFromJson(body.parameters) : {}),
      };
      const from = body.from ?? recipe.from;
      const files = body.files ?? {};
      for (const digest of Object.values(files)) checkDigest(digest);
      if (from === undefined && Object.keys(files).length === 0)
        throw new VmmError(ErrorCode.InvalidArgument, 'from or files is required', { field: 'from' });
      const license = body.license ?? recipe.license;
      const text = {
        system: body.system ?? recipe.system,
        template: body.template ?? recipe.template,
        license: license === undefined ? [] : Array.isArray(license) ? license : [license],
      };
      // Before any work: each of these travels whole in every later Show and /api/show.
      checkModelText(text);
      await refuseWhileRunning(model, 'replace');
      const call = pool.storeWorker().models.create(
        {
          model,
          from: from === undefined ? '' : from,
          files,
          ...text,
          parameters: Object.entries(parameters).flatMap(([name, value]: [string, unknown]) =>
            (Array.isArray(value) ? value : [value]).map((item): ModelParameter => ({
              name,
              value: String(item),
            })),
          ),
          requestId: requestIdOf(res),
        },
        metadataOf(res),
      );
      await relay(res, call, body.stream ?? true, () => unloadWherever(model));
    })().catch((error: unknown) => fail(res, error));
  });

  // No registry is VMM's to push to: said plainly rather than with a 404.
  router.post('/api/push', (_req, res) =>
    fail(
      res,
      new VmmError(
        ErrorCode.Unimplemented,
        'pushing models to a registry is not supported: copy the models directory, or pull from the Hugging Face Hub',
      ),
    ),
  );

  router.post('/api/copy', (req, res) => {
    void (async () => {
      const body = ollamaBody(copySchema, req.body, res, logger);
      const destination = canonicalModelName(body.destination);
      await refuseWhileRunning(destination, 'replace');
      await new Promise((resolve, reject) =>
        pool
          .storeWorker()
          .models.copy(
            { source: canonicalModelName(body.source), destination },
            metadataOf(res),
            (error, value) => (error ? reject(error) : resolve(value)),
          ),
      );
      await unloadWherever(destination);
      await pool.refresh().catch(() => undefined);
      res.status(200).end();
    })().catch((error: unknown) => fail(res, error));
  });

  router.delete('/api/delete', (req, res) => {
    void (async () => {
      const model = nameOf(ollamaBody(deleteSchema, req.body, res, logger));
      // Refused while any worker runs it (at its latest report); idle copies are unloaded first.
      await refuseWhileRunning(model, 'delete');
      await unloadWherever(model);
      await new Promise((resolve, reject) =>
        pool
          .storeWorker()
          .models.delete({ model }, metadataOf(res), (error, value) =>
            error ? reject(error) : resolve(value),
          ),
      );
      await pool.refresh().catch(() => undefined);
      res.status(200).end();
    })().catch((error: unknown) => fail(res, error));
  });

  router.head('/api/blobs/:digest', (req, res) => {
    void (async () => {
      const digest = checkDigest(req.params.digest ?? '');
      const exists = await new Promise<boolean>((resolve, reject) =>
        pool
          .storeWorker()
          .models.hasBlob({ digest }, metadataOf(res), (error, value) =>
            error ? reject(error) : resolve(value.exists),
          ),
      );
      res.status(exists ? 200 : 404).end();
    })().catch((error: unknown) => {
      // HEAD answers carry no body: the status alone, from the one mapping.
      res.status(httpStatusFor(toVmmError(error).code)).end();
    });
  });

  router.post('/api/blobs/:digest', (req, res) => {
    void (async () => {
      const digest = checkDigest(req.params.digest ?? '');
      const created = await new Promise<boolean>((resolve, reject) => {
        const upload = pool
          .storeWorker()
          .models.putBlob(metadataOf(res), (error, value) =>
            error ? reject(error) : resolve(value.created),
          );
        let first = true;
        req.on('data', (chunk: Buffer) => {
          // gRPC messages stay well under its size limit: 1 MiB pieces.
          for (let offset = 0; offset < chunk.byteLength; offset += 1 << 20) {
            const piece = chunk.subarray(offset, offset + (1 << 20));
            if (!upload.write({ digest: first ? digest : '', data: piece })) req.pause();
            first = false;
          }
        });
        upload.on('drain', () => req.resume());
        req.on('end', () => {
          if (first) upload.write({ digest, data: Buffer.alloc(0) });
          upload.end();
        });
        req.on('aborted', () => upload.cancel());
      });
      res.status(created ? 201 : 200).end();
    })().catch((error: unknown) => fail(res, error));
  });

  return router;
}
