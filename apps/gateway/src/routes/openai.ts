import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  checkEmbedSize,
  checkPromptSize,
  keepAliveMs,
  openaiChatLogprobs,
  openaiCompletionLogprobs,
  openaiEmbedRequest,
  openaiEmbedResponse,
  openaiEmbedSchema,
  openaiToolCalls,
  openaiChatSchema,
  openaiCompletionResponse,
  openaiCompletionSchema,
  openaiFinishReason,
  openaiTextJob,
  openaiUsage,
  parseBody,
  unsupportedField,
} from '@vmm/http-api';
import type { TokenLogprob } from '@vmm/proto';
import { sendError } from '../error-shapes.js';
import { fetchImageUrls } from '../image-urls.js';
import { recordEmbedding } from '../metrics.js';
import {
  clientGone,
  clientSignal,
  pinOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { streamText } from '../text-generation.js';

/** OpenAI's routes: SSE streams with `data: [DONE]`, whole objects otherwise, OpenAI's errors. */
export function openaiRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger, metrics } = deps;

  async function complete(req: Request, res: Response, chat: boolean): Promise<void> {
    const requestId = requestIdOf(res);
    try {
      const body = chat ? parseBody(openaiChatSchema, req.body) : parseBody(openaiCompletionSchema, req.body);
      const pin = pinOf(req, body.backend ?? undefined);
      if ('messages' in body && deps.imageUrls)
        await fetchImageUrls(body.messages, deps.imageUrls, clientSignal(req, res));
      const job = openaiTextJob(body, requestContext(res, pin, keepAliveMs(body.keep_alive)));
      checkPromptSize(job, deps.maxPromptBytes);
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
      const created = Math.floor(Date.now() / 1000);
      const object = chat ? 'chat.completion.chunk' : 'text_completion';
      const gone = clientGone(req, res);
      const wantLogprobs = 'messages' in body ? body.logprobs === true : body.logprobs != null;
      const parallel = 'messages' in body ? body.parallel_tool_calls : undefined;
      // Legacy completions with echo: the prompt comes back in front of the output.
      const echo = !('messages' in body) && body.echo === true ? ([body.prompt].flat()[0] ?? '') : '';
      let offset = echo.length;
      const logprobsOf = (pieces: readonly TokenLogprob[]) => {
        if (!wantLogprobs) return null;
        return chat ? openaiChatLogprobs(pieces) : openaiCompletionLogprobs(pieces, offset);
      };
      const choice = (
        delta: string,
        reason: string | null,
        pieces: readonly TokenLogprob[] = [],
        first = false,
      ) =>
        chat
          ? {
              index: 0,
              delta: first ? { role: 'assistant', content: delta } : reason ? {} : { content: delta },
              logprobs: pieces.length > 0 ? logprobsOf(pieces) : null,
              finish_reason: reason,
            }
          : {
              index: 0,
              text: delta,
              logprobs: pieces.length > 0 ? logprobsOf(pieces) : null,
              finish_reason: reason,
            };
      const sse = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      const event = (choices: unknown[], extra: object = {}) =>
        sse({ id, object, created, model: body.model, choices, ...extra });
      let all = echo;
      let reasoning = '';
      const logprobs: TokenLogprob[] = [];
      let started = false;
      for await (const chunk of streamText(pool, job, pin, requestId, metrics)) {
        if (gone()) break;
        const done = chunk.done;
        const pieces = chunk.logprobs?.tokens ?? [];
        if (body.stream !== true) {
          all += chunk.text;
          reasoning += chunk.thinking ?? '';
          logprobs.push(...pieces);
          if (done)
            res.json(
              openaiCompletionResponse({
                id,
                created,
                model: body.model,
                chat,
                text: all,
                done,
                version: deps.version,
                logprobs: wantLogprobs ? logprobs : undefined,
                textOffset: echo.length,
                reasoning,
                ...(parallel === undefined || parallel === null ? {} : { parallelToolCalls: parallel }),
              }),
            );
          continue;
        }
        if (!started) {
          res.status(200).set({
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
          });
          // Chat streams open with the assistant's role, as OpenAI's do.
          if (chat) event([choice('', null, [], true)]);
          if (echo) event([choice(echo, null)]);
          started = true;
        }
        if (chat && chunk.thinking)
          event([
            { index: 0, delta: { reasoning_content: chunk.thinking }, logprobs: null, finish_reason: null },
          ]);
        if (chunk.text || pieces.length > 0) {
          event([choice(chunk.text, null, pieces)]);
          offset += chunk.text.length;
        }
        if (done) {
          const calls = done.toolCalls?.calls ?? [];
          const kept = parallel === false ? calls.slice(0, 1) : calls;
          if (chat && kept.length > 0) {
            // Each call arrives whole in one delta, with its index, id and name.
            event([
              {
                index: 0,
                delta: { tool_calls: openaiToolCalls(kept).map((call, index) => ({ index, ...call })) },
                logprobs: null,
                finish_reason: null,
              },
            ]);
          }
          event([choice('', openaiFinishReason(done.finishReason))]);
          if (body.stream_options?.include_usage) event([], { usage: openaiUsage(done) });
          res.end('data: [DONE]\n\n');
        }
      }
      if (!res.writableEnded && res.headersSent) res.end();
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) {
          const vmmError = VmmError.from(error);
          res.end(
            // The error event, then the stream's usual end: a client reading to [DONE] stops.
            `data: ${JSON.stringify({ error: { message: vmmError.message, type: 'server_error', code: vmmError.code } })}\n\n` +
              'data: [DONE]\n\n',
          );
        }
        return;
      }
      sendError(res, asReasoningEffort(error), 'openai', logger, requestId);
    }
  }

  router.post('/v1/embeddings', (req, res) => {
    void (async () => {
      const requestId = requestIdOf(res);
      try {
        const body = parseBody(openaiEmbedSchema, req.body);
        const pin = pinOf(req, body.backend ?? undefined);
        const request = openaiEmbedRequest(body, requestContext(res, pin, keepAliveMs(body.keep_alive)));
        checkEmbedSize(request, deps.maxPromptBytes);
        const metadata = new Metadata();
        metadata.set('x-request-id', requestId);
        let backend = 'unknown';
        const response = await pool.embed(request, pin, metadata, (served) => (backend = served));
        recordEmbedding(deps.metrics, body.model, backend, request.inputs.length, response.promptTokens);
        res.json(openaiEmbedResponse(body.model, response, body.encoding_format ?? 'float'));
      } catch (error) {
        sendError(res, error, 'openai', logger, requestId);
      }
    })();
  });

  router.post('/v1/chat/completions', (req, res) => void complete(req, res, true));
  router.post('/v1/completions', (req, res) => void complete(req, res, false));

  const describe = (model: { name: string; modifiedAtMs: number }) => ({
    id: model.name,
    object: 'model',
    created: Math.floor(model.modifiedAtMs / 1000),
    owned_by: 'vmm',
  });
  router.get('/v1/models', (_req, res) => {
    void pool
      .refresh()
      .catch(() => undefined)
      .then(() => res.json({ object: 'list', data: pool.catalogue().map(describe) }));
  });
  // Names may hold slashes (hf.co/org/repo:tag): the rest of the path is the name.
  router.get('/v1/models/*model', (req, res) => {
    const name = (req.params as { model: string[] }).model.join('/');
    void (async () => {
      if (!pool.find(name)) await pool.refresh().catch(() => undefined);
      const model = pool.find(name);
      if (model) res.json(describe(model));
      else {
        const error = new VmmError(ErrorCode.NotFound, `The model "${name}" does not exist`, {
          field: 'model',
        });
        sendError(res, error, 'openai', logger, requestIdOf(res));
      }
    })();
  });

  return router;
}

/**
 * The worker refuses `think` on a model that does not think; OpenAI's clients sent
 * `reasoning_effort`, and OpenAI answers it on such a model as an unsupported parameter.
 */
function asReasoningEffort(error: unknown): unknown {
  if (!(error instanceof VmmError) || error.field !== 'think') return error;
  const model = /model "[^"]*"/.exec(error.message)?.[0] ?? 'this model';
  return unsupportedField(
    'reasoning_effort',
    `${model} does not think (its chat template has no thinking); leave reasoning_effort out`,
  );
}
