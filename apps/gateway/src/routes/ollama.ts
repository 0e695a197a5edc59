import { Metadata } from '@grpc/grpc-js';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  checkEmbedSize,
  checkPromptSize,
  keepAliveMs,
  logprobEntries,
  ollamaEmbedRequest,
  ollamaEmbedResponse,
  ollamaEmbedSchema,
  ollamaLegacyEmbedRequest,
  ollamaLegacyEmbedResponse,
  ollamaLegacyEmbedSchema,
  ollamaChatSchema,
  ollamaDetails,
  ollamaFinalStats,
  ollamaGenerateSchema,
  ollamaPiece,
  ollamaResponse,
  ollamaTag,
  ollamaTextJob,
  taskName,
} from '@vmm/http-api';
import {
  addParameter,
  formatModelfile,
  type ModelParameters,
  parametersText,
  tryCanonicalModelName,
} from '@vmm/model-store';
import { Task, type TokenLogprob } from '@vmm/proto';
import type { BackendName } from '@vmm/worker-pool';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { ollamaBody } from '../ollama-body.js';
import { recordEmbedding } from '../metrics.js';
import {
  clientGone,
  pinOf,
  metadataOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { streamText } from '../text-generation.js';

export const showSchema = z.strictObject({
  model: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  // Ollama's: also list the tokenizer's vocabulary; VMM's answer has none to list.
  verbose: z.boolean().optional(),
});

/** Ollama's routes: NDJSON streams by default, Ollama's shapes and error bodies. */
export function ollamaRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger, metrics } = deps;

  const loadModel = (model: string, pin: BackendName | undefined, keepAliveMs: number | undefined) =>
    pool.unary(
      model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.models.load({ model, keepAliveMs }, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
    );

  /** Unloads the model from every worker that has it loaded (it may be on several). */
  async function unloadEverywhere(model: string, pin: BackendName | undefined): Promise<void> {
    if (!pool.find(model)) await pool.refresh();
    if (!pool.find(model))
      throw new VmmError(ErrorCode.NotFound, `model "${tryCanonicalModelName(model) ?? model}" not found`, {
        field: 'model',
      });
    await pool.unloadEverywhere(model, pin);
  }

  async function generateText(req: Request, res: Response, chat: boolean): Promise<void> {
    const requestId = requestIdOf(res);
    try {
      const body = chat
        ? ollamaBody(ollamaChatSchema, req.body, res, logger)
        : ollamaBody(ollamaGenerateSchema, req.body, res, logger);
      const pin = pinOf(req, body.options?.backend);
      const context = requestContext(res, pin, keepAliveMs(body.keep_alive));
      // Ollama's load and unload calls: no prompt (or no messages); keep_alive 0 unloads.
      if ('messages' in body ? body.messages.length === 0 : !body.prompt) {
        const unload = context.keepAliveMs === 0;
        if (unload) await unloadEverywhere(body.model, pin);
        else await loadModel(body.model, pin, context.keepAliveMs);
        res.json({
          model: body.model,
          created_at: new Date().toISOString(),
          ...ollamaPiece(chat, ''),
          done: true,
          done_reason: unload ? 'unload' : 'load',
        });
        return;
      }
      const job = ollamaTextJob(body, context);
      checkPromptSize(job, deps.maxPromptBytes);
      const gone = clientGone(req, res);
      const stream = body.stream ?? true;
      const wantLogprobs = body.logprobs === true;
      let text = '';
      let thinking = '';
      const logprobs: TokenLogprob[] = [];
      let started = false;
      const line = (payload: object) => res.write(`${JSON.stringify(payload)}\n`);
      for await (const chunk of streamText(pool, job, pin, requestId, metrics)) {
        if (gone()) break;
        if (stream && !started) {
          res.status(200).type('application/x-ndjson');
          started = true;
        }
        const pieceLogprobs = chunk.logprobs?.tokens ?? [];
        if (chunk.done) {
          const calls = chunk.done.toolCalls?.calls ?? [];
          if (!stream) {
            logprobs.push(...pieceLogprobs);
            res.json(
              ollamaResponse(
                body.model,
                chat,
                text + chunk.text,
                chunk,
                wantLogprobs ? logprobs : undefined,
                new Date(),
                thinking + (chunk.thinking ?? ''),
              ),
            );
            break;
          }
          // Ollama sends a turn's calls in a message of their own before the final one.
          if (calls.length > 0) {
            line({
              model: body.model,
              created_at: new Date().toISOString(),
              ...ollamaPiece(chat, '', calls),
              done: false,
            });
          }
          line({
            model: body.model,
            created_at: new Date().toISOString(),
            ...ollamaPiece(chat, chunk.text, [], chunk.thinking),
            ...(wantLogprobs && pieceLogprobs.length > 0 ? { logprobs: logprobEntries(pieceLogprobs) } : {}),
            ...ollamaFinalStats(chunk),
          });
          break;
        }
        if (!stream) {
          text += chunk.text;
          thinking += chunk.thinking ?? '';
          logprobs.push(...pieceLogprobs);
        } else if (chunk.text || chunk.thinking || (wantLogprobs && pieceLogprobs.length > 0)) {
          line({
            model: body.model,
            created_at: new Date().toISOString(),
            ...ollamaPiece(chat, chunk.text, [], chunk.thinking),
            ...(wantLogprobs && pieceLogprobs.length > 0 ? { logprobs: logprobEntries(pieceLogprobs) } : {}),
            done: false,
          });
        }
      }
      if (stream && !res.writableEnded) res.end();
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) res.end(`${JSON.stringify({ error: VmmError.from(error).message })}\n`);
        return;
      }
      sendError(res, error, 'ollama', logger, requestId);
    }
  }

  router.post('/api/generate', (req, res) => void generateText(req, res, false));
  router.post('/api/chat', (req, res) => void generateText(req, res, true));

  async function embed(req: Request, res: Response, legacy: boolean): Promise<void> {
    const requestId = requestIdOf(res);
    try {
      const metadata = new Metadata();
      metadata.set('x-request-id', requestId);
      if (legacy) {
        const body = ollamaBody(ollamaLegacyEmbedSchema, req.body, res, logger);
        const pin = pinOf(req, body.backend);
        const request = ollamaLegacyEmbedRequest(
          body,
          requestContext(res, pin, keepAliveMs(body.keep_alive)),
        );
        checkEmbedSize(request, deps.maxPromptBytes);
        let backend = 'unknown';
        const response = await pool.embed(request, pin, metadata, (served) => (backend = served));
        recordEmbedding(metrics, body.model, backend, request.inputs.length, response.promptTokens);
        res.json(ollamaLegacyEmbedResponse(response));
        return;
      }
      const body = ollamaBody(ollamaEmbedSchema, req.body, res, logger);
      const pin = pinOf(req, body.backend);
      const request = ollamaEmbedRequest(body, requestContext(res, pin, keepAliveMs(body.keep_alive)));
      checkEmbedSize(request, deps.maxPromptBytes);
      let backend = 'unknown';
      const response = await pool.embed(request, pin, metadata, (served) => (backend = served));
      recordEmbedding(metrics, body.model, backend, request.inputs.length, response.promptTokens);
      res.json(ollamaEmbedResponse(body.model, response));
    } catch (error) {
      sendError(res, error, 'ollama', logger, requestId);
    }
  }

  router.post('/api/embed', (req, res) => void embed(req, res, false));
  router.post('/api/embeddings', (req, res) => void embed(req, res, true));

  // Listings poll the workers first: a folder copied in, or a model pulled, shows at once.
  router.get('/api/tags', (_req, res) => {
    void pool
      .refresh()
      .catch(() => undefined)
      .then(() => res.json({ models: pool.catalogue().map(ollamaTag) }));
  });

  router.post('/api/show', (req, res) => void show(req, res));
  async function show(req: Request, res: Response): Promise<void> {
    try {
      const body = ollamaBody(showSchema, req.body, res, logger);
      const name = body.model ?? body.name;
      if (!name) throw new VmmError(ErrorCode.InvalidArgument, 'model is required', { field: 'model' });
      if (!pool.find(name)) await pool.refresh().catch(() => undefined);
      const listed = pool.find(name);
      if (!listed)
        throw new VmmError(ErrorCode.NotFound, `model "${tryCanonicalModelName(name) ?? name}" not found`, {
          field: 'model',
        });
      // Listings leave out a model's text (template, labels, SYSTEM, LICENSE): asked for whole.
      const model = await pool.show(listed.name, metadataOf(res));
      const text = model.task === Task.TASK_TEXT_GENERATION;
      const embedding = model.task === Task.TASK_EMBEDDING;
      const parameters: ModelParameters = {};
      for (const { name: key, value } of model.parameters) addParameter(parameters, key, value);
      const recipe = {
        from: model.parent ?? model.name,
        ...(model.system === undefined ? {} : { system: model.system }),
        ...(model.parameters.length > 0 ? { parameters } : {}),
        ...(model.license.length > 0 ? { license: model.license } : {}),
      };
      res.json({
        modelfile: formatModelfile(recipe, `Modelfile of ${model.name}`),
        parameters: parametersText(parameters),
        template: model.chatTemplate ?? '',
        ...(model.system === undefined ? {} : { system: model.system }),
        ...(model.license.length > 0 ? { license: model.license.join('\n') } : {}),
        details: ollamaDetails(model),
        model_info: {
          'general.architecture': model.details?.family ?? '',
          'general.parameter_count': model.details?.parameterCount ?? 0,
          'general.task': taskName(model.task),
          ...(text || embedding ? { [`${model.details?.family}.context_length`]: model.contextLength } : {}),
          ...(text || embedding
            ? {}
            : { 'vision.labels': model.labels, 'vision.image_size': [model.inputHeight, model.inputWidth] }),
        },
        // The worker's (model-info.ts): thinking where the template has it.
        capabilities: model.capabilities,
        modified_at: new Date(model.modifiedAtMs).toISOString(),
      });
    } catch (error) {
      sendError(res, error, 'ollama', logger, requestIdOf(res));
    }
  }

  // Live, as Ollama's: the workers are polled first.
  router.get(
    '/api/ps',
    (_req, res) =>
      void pool
        .refresh()
        .catch(() => undefined)
        .then(() => ps(res)),
  );
  function ps(res: Response): void {
    const models = pool.states().flatMap((state) =>
      (state.up ? (state.info?.loadedModels ?? []) : []).flatMap((loaded) =>
        loaded.model
          ? [
              {
                ...ollamaTag(loaded.model),
                // Kept forever (no expiry) shows as far in the future, as Ollama does.
                expires_at: new Date(
                  loaded.expiresAtMs ?? Date.now() + 10 * 365 * 24 * 3600 * 1000,
                ).toISOString(),
                size_vram: loaded.deviceMemoryBytes,
                worker: state.id,
                // VMM's own: the text model's continuous batching and KV cache, at the last poll.
                ...(loaded.batching
                  ? {
                      batching: {
                        running_sequences: loaded.batching.runningSequences,
                        waiting_sequences: loaded.batching.waitingSequences,
                        batch_size: loaded.batching.batchSize,
                        kv_cache_bytes: loaded.batching.kvCacheBytes,
                        kv_cache_budget_bytes: loaded.batching.kvCacheBudgetBytes,
                        kv_cache_tokens: loaded.batching.kvCacheTokens,
                        prefix_cache_hits: loaded.batching.prefixCacheHits,
                        prefix_cache_tokens: loaded.batching.prefixCacheTokens,
                      },
                    }
                  : {}),
              },
            ]
          : [],
      ),
    );
    res.json({ models });
  }

  router.get('/api/version', (_req, res) => {
    res.json({ version: deps.version });
  });

  return router;
}
