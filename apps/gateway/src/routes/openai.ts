import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import { FinishReason, Role, type SamplingOptions } from '@vmm/proto';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import {
  backendField,
  clientGone,
  keepAliveField,
  keepAliveMs,
  pinOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { streamText, type TextJob } from '../text-generation.js';
import { parseBody } from '../validation.js';

// OpenAI's Chat Completions and legacy Completions APIs, as the official SDKs call them.

const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullish();
const common = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  stop,
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().nullish(),
  keep_alive: keepAliveField,
  backend: backendField,
};

const content = z.union([
  z.string(),
  z.array(z.object({ type: z.literal('text', 'only text content parts are supported'), text: z.string() })),
]);

const chatSchema = z.object({
  ...common,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
        content: content.nullish(),
        name: z.string().optional(),
      }),
    )
    .min(1),
});

const completionSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'only one prompt per request is supported')]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
});

type Common = z.infer<z.ZodObject<typeof common>>;

function sampling(body: Common): SamplingOptions {
  const out: SamplingOptions = {
    stop: body.stop === undefined || body.stop === null ? [] : [body.stop].flat(),
  };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) out.maxTokens = maxTokens;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.topP = body.top_p;
  if (body.seed != null && body.seed >= 0) out.seed = body.seed;
  if (body.presence_penalty != null) out.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) out.frequencyPenalty = body.frequency_penalty;
  // OpenAI has no repetition penalty; leave it neutral rather than apply Ollama's default.
  out.repetitionPenalty = 1;
  return out;
}

const finishReason = (reason: FinishReason | undefined) =>
  reason === FinishReason.FINISH_REASON_LENGTH ? 'length' : 'stop';

const text = (value: z.infer<typeof content> | null | undefined) =>
  value === null || value === undefined
    ? ''
    : typeof value === 'string'
      ? value
      : value.map((part) => part.text).join('');

export function openaiRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger, metrics } = deps;

  async function complete(req: Request, res: Response, chat: boolean): Promise<void> {
    const requestId = requestIdOf(res);
    try {
      const body = chat ? parseBody(chatSchema, req.body) : parseBody(completionSchema, req.body);
      const pin = pinOf(req, body.backend ?? undefined);
      const context = requestContext(res, pin, keepAliveMs(body.keep_alive));
      const job: TextJob =
        'messages' in body
          ? {
              kind: 'chat',
              request: {
                model: body.model,
                messages: body.messages.map((m) => ({
                  role:
                    m.role === 'developer'
                      ? Role.ROLE_SYSTEM
                      : Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
                  content: text(m.content),
                })),
                options: sampling(body),
                context,
              },
            }
          : {
              kind: 'generate',
              request: {
                model: body.model,
                prompt: [body.prompt].flat()[0] ?? '',
                system: undefined,
                raw: true,
                options: { ...sampling(body), ...(body.max_tokens == null ? { maxTokens: 16 } : {}) },
                context,
              },
            };
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
      const created = Math.floor(Date.now() / 1000);
      const object = chat ? 'chat.completion' : 'text_completion';
      const gone = clientGone(req, res);
      const streaming = body.stream === true;
      const choice = (delta: string, reason: string | null, first = false) =>
        chat
          ? {
              index: 0,
              delta: first ? { role: 'assistant', content: delta } : reason ? {} : { content: delta },
              logprobs: null,
              finish_reason: reason,
            }
          : { index: 0, text: delta, logprobs: null, finish_reason: reason };
      const sse = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      const objectName = chat ? 'chat.completion.chunk' : 'text_completion';
      let all = '';
      let sentFirst = false;
      for await (const chunk of streamText(pool, job, pin, requestId, metrics)) {
        if (gone()) break;
        if (streaming && !sentFirst) {
          res.status(200).set({
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
          });
          // Chat streams open with the assistant's role, as OpenAI's do.
          if (chat)
            sse({ id, object: objectName, created, model: body.model, choices: [choice('', null, true)] });
          sentFirst = true;
        }
        const done = chunk.done;
        if (streaming) {
          if (chunk.text)
            sse({ id, object: objectName, created, model: body.model, choices: [choice(chunk.text, null)] });
          if (done) {
            sse({
              id,
              object: objectName,
              created,
              model: body.model,
              choices: [choice('', finishReason(done.finishReason))],
            });
            if (body.stream_options?.include_usage) {
              const usage = {
                prompt_tokens: done.usage?.promptTokens ?? 0,
                completion_tokens: done.usage?.completionTokens ?? 0,
              };
              sse({
                id,
                object: objectName,
                created,
                model: body.model,
                choices: [],
                usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
              });
            }
            res.end('data: [DONE]\n\n');
          }
        } else {
          all += chunk.text;
          if (done) {
            const usage = {
              prompt_tokens: done.usage?.promptTokens ?? 0,
              completion_tokens: done.usage?.completionTokens ?? 0,
            };
            const reason = finishReason(done.finishReason);
            res.json({
              id,
              object,
              created,
              model: body.model,
              choices: [
                chat
                  ? {
                      index: 0,
                      message: { role: 'assistant', content: all, refusal: null },
                      logprobs: null,
                      finish_reason: reason,
                    }
                  : { index: 0, text: all, logprobs: null, finish_reason: reason },
              ],
              usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
              system_fingerprint: `vmm-${deps.version}`,
            });
          }
        }
      }
      if (!res.writableEnded && res.headersSent) res.end();
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) {
          const vmmError = VmmError.from(error);
          res.end(
            `data: ${JSON.stringify({ error: { message: vmmError.message, type: 'server_error', code: vmmError.code } })}\n\n`,
          );
        }
        return;
      }
      sendError(res, error, 'openai', logger, requestId);
    }
  }

  router.post('/v1/chat/completions', (req, res) => void complete(req, res, true));
  router.post('/v1/completions', (req, res) => void complete(req, res, false));

  router.get('/v1/models', (_req, res) => {
    res.json({
      object: 'list',
      data: pool.catalogue().map((model) => ({
        id: model.name,
        object: 'model',
        created: Math.floor(model.modifiedAtMs / 1000),
        owned_by: 'vmm',
      })),
    });
  });

  router.get('/v1/models/:model', (req, res) => {
    const model = pool.catalogue().find((info) => info.name === req.params.model);
    if (!model) {
      sendError(
        res,
        new VmmError(ErrorCode.NotFound, `The model '${req.params.model}' does not exist`, {
          field: 'model',
        }),
        'openai',
        logger,
        requestIdOf(res),
      );
      return;
    }
    res.json({
      id: model.name,
      object: 'model',
      created: Math.floor(model.modifiedAtMs / 1000),
      owned_by: 'vmm',
    });
  });

  return router;
}
