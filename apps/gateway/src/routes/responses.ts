import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { VmmError } from '@vmm/errors';
import {
  checkPromptSize,
  functionCallOutput,
  keepAliveMs,
  messageOutput,
  openaiChatSchema,
  openaiTextJob,
  parseBody,
  responseCalls,
  responseObject,
  responsesSchema,
  responsesToChat,
} from '@vmm/http-api';
import { sendError } from '../error-shapes.js';
import {
  clientGone,
  clientSignal,
  pinOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { fetchImageUrls } from '../image-urls.js';
import { streamText } from '../text-generation.js';

/**
 * OpenAI's `/v1/responses`, as a chat: a Response object, or with `stream: true` its typed SSE
 * events (`response.created` … `response.output_text.delta` … `response.completed`).
 */
export function responsesRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger, metrics } = deps;

  async function respond(req: Request, res: Response): Promise<void> {
    const requestId = requestIdOf(res);
    try {
      const body = parseBody(responsesSchema, req.body);
      const chat = parseBody(openaiChatSchema, responsesToChat(body));
      const pin = pinOf(req, body.backend);
      if (deps.imageUrls) await fetchImageUrls(chat.messages, deps.imageUrls, clientSignal(req, res));
      const job = openaiTextJob(chat, requestContext(res, pin, keepAliveMs(body.keep_alive)));
      checkPromptSize(job, deps.maxPromptBytes);
      const ids = {
        id: `resp_${randomUUID().replaceAll('-', '')}`,
        messageId: `msg_${randomUUID().replaceAll('-', '')}`,
        createdAt: Math.floor(Date.now() / 1000),
      };
      const gone = clientGone(req, res);
      let sequence = 0;
      const event = (type: string, payload: object) =>
        res.write(
          `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...payload })}\n\n`,
        );
      // Output items open as they appear: the message at the first text, each call at the end
      // (the worker holds a turn's text back while it may still become a call).
      let outputIndex = 0;
      let messageIndex: number | undefined;
      const part = () => ({ item_id: ids.messageId, output_index: messageIndex, content_index: 0 });
      const openMessage = () => {
        if (messageIndex !== undefined) return;
        messageIndex = outputIndex++;
        event('response.output_item.added', {
          output_index: messageIndex,
          item: messageOutput(ids.messageId, '', 'in_progress'),
        });
        event('response.content_part.added', {
          ...part(),
          part: { type: 'output_text', text: '', annotations: [] },
        });
      };
      let text = '';
      let started = false;
      for await (const chunk of streamText(pool, job, pin, requestId, metrics)) {
        if (gone()) break;
        text += chunk.text;
        if (body.stream !== true) {
          if (chunk.done) res.json({ ...responseObject(body, ids, text, chunk.done), output_text: text });
          continue;
        }
        if (!started) {
          res.status(200).set({
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            connection: 'keep-alive',
          });
          const opening = responseObject(body, ids, '', undefined);
          event('response.created', { response: opening });
          event('response.in_progress', { response: opening });
          started = true;
        }
        if (chunk.text) {
          openMessage();
          event('response.output_text.delta', { ...part(), delta: chunk.text, logprobs: [] });
        }
        if (chunk.done) {
          const final = responseObject(body, ids, text, chunk.done);
          const items = final.output as { type: string }[];
          const calls = responseCalls(body, chunk.done);
          // A turn with no calls always has its message, even an empty one.
          if (items[0]?.type === 'message') {
            openMessage();
            event('response.output_text.done', { ...part(), text, logprobs: [] });
            event('response.content_part.done', {
              ...part(),
              part: { type: 'output_text', text, annotations: [] },
            });
            event('response.output_item.done', { output_index: messageIndex, item: items[0] });
          }
          for (const call of calls) {
            const index = outputIndex++;
            const item = functionCallOutput(call, 'completed');
            event('response.output_item.added', {
              output_index: index,
              item: functionCallOutput(call, 'in_progress'),
            });
            event('response.function_call_arguments.delta', {
              item_id: item.id,
              output_index: index,
              delta: call.argumentsJson,
            });
            event('response.function_call_arguments.done', {
              item_id: item.id,
              output_index: index,
              name: call.name,
              arguments: call.argumentsJson,
            });
            event('response.output_item.done', { output_index: index, item });
          }
          event(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', {
            response: final,
          });
          res.end();
        }
      }
      if (started && !res.writableEnded) res.end();
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) {
          const message = VmmError.from(error).message;
          res.end(
            `event: error\ndata: ${JSON.stringify({ type: 'error', code: null, message, param: null })}\n\n`,
          );
        }
        return;
      }
      sendError(res, error, 'openai', logger, requestId);
    }
  }

  router.post('/v1/responses', (req, res) => void respond(req, res));
  return router;
}
