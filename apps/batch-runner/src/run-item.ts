import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { ItemJobData, ItemResult } from '@vmm/batch';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  classifyRequest,
  classifyResponse,
  classifySchema,
  decodeBase64Image,
  detectRequest,
  detectResponse,
  detectSchema,
  poseRequest,
  poseResponse,
  poseSchema,
  removeBackgroundRequest,
  removeBackgroundResponse,
  removeBackgroundSchema,
  segmentRequest,
  segmentResponse,
  segmentSchema,
  errorResponse,
  keepAliveMs,
  ollamaGenerateSchema,
  parseLenientBody,
  ollamaResponse,
  ollamaTextJob,
  openaiChatSchema,
  openaiCompletionResponse,
  openaiCompletionSchema,
  openaiEmbedRequest,
  openaiEmbedResponse,
  openaiEmbedSchema,
  openaiTextJob,
  shapeForPath,
  type TextJob,
} from '@vmm/http-api';
import { Backend, type GenerateChunk, type RequestContext, type TokenLogprob } from '@vmm/proto';
import type { WorkerPool } from '@vmm/worker-pool';

/** Worth another attempt later: the worker was unreachable, full, or too slow. */
const retryable = new Set<ErrorCode>([
  ErrorCode.Unavailable,
  ErrorCode.ResourceExhausted,
  ErrorCode.DeadlineExceeded,
]);

async function text(
  pool: WorkerPool,
  job: TextJob,
  requestId: string,
): Promise<{ text: string; last: GenerateChunk; logprobs: TokenLogprob[] }> {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  let all = '';
  let last: GenerateChunk | undefined;
  const logprobs: TokenLogprob[] = [];
  for await (const chunk of pool.stream<GenerateChunk>(
    job.request.model,
    undefined,
    (handle) =>
      job.kind === 'generate'
        ? handle.inference.generate(job.request, metadata)
        : handle.inference.chat(job.request, metadata),
    (chunk) => chunk.done !== undefined,
  )) {
    all += chunk.text;
    logprobs.push(...(chunk.logprobs?.tokens ?? []));
    if (chunk.done) last = chunk;
  }
  if (!last) throw new VmmError(ErrorCode.Unavailable, 'the worker ended the stream early');
  return { text: all, last, logprobs };
}

/**
 * Runs one batch item against the workers and answers what the same HTTP request to the
 * gateway would have answered (the bodies come from @vmm/http-api, as the gateway's do).
 * Retryable failures throw, so BullMQ retries them with backoff; other errors become the
 * item's error response.
 */
export async function runItem(pool: WorkerPool, item: ItemJobData, version: string): Promise<ItemResult> {
  const context = (keepAlive: number | string | undefined): RequestContext => ({
    requestId: item.requestId,
    backend: Backend.BACKEND_UNSPECIFIED,
    keepAliveMs: keepAliveMs(keepAlive),
  });
  const metadata = new Metadata();
  metadata.set('x-request-id', item.requestId);
  try {
    switch (item.url) {
      case '/api/generate': {
        // As the live route reads it: fields Ollama ignores are left out.
        const body = parseLenientBody(ollamaGenerateSchema, item.body).data;
        const {
          text: all,
          last,
          logprobs,
        } = await text(pool, ollamaTextJob(body, context(body.keep_alive)), item.requestId);
        return {
          status_code: 200,
          body: ollamaResponse(body.model, false, all, last, body.logprobs ? logprobs : undefined),
        };
      }
      case '/v1/chat/completions':
      case '/v1/completions': {
        const chat = item.url === '/v1/chat/completions';
        const body = chat ? openaiChatSchema.parse(item.body) : openaiCompletionSchema.parse(item.body);
        const {
          text: all,
          last,
          logprobs,
        } = await text(pool, openaiTextJob(body, context(body.keep_alive)), item.requestId);
        const wantLogprobs = 'messages' in body ? body.logprobs === true : body.logprobs != null;
        const echo = !('messages' in body) && body.echo === true ? ([body.prompt].flat()[0] ?? '') : '';
        const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
        return {
          status_code: 200,
          body: openaiCompletionResponse({
            id,
            created: Math.floor(Date.now() / 1000),
            model: body.model,
            chat,
            text: echo + all,
            done: last.done,
            version,
            logprobs: wantLogprobs ? logprobs : undefined,
            textOffset: echo.length,
            ...('messages' in body && body.parallel_tool_calls != null
              ? { parallelToolCalls: body.parallel_tool_calls }
              : {}),
          }),
        };
      }
      case '/v1/embeddings': {
        const body = openaiEmbedSchema.parse(item.body);
        const response = await pool.embed(
          openaiEmbedRequest(body, context(body.keep_alive)),
          undefined,
          metadata,
        );
        return {
          status_code: 200,
          body: openaiEmbedResponse(body.model, response, body.encoding_format ?? 'float'),
        };
      }
      case '/v1/vision/detect': {
        const body = detectSchema.parse(item.body);
        const request = detectRequest(body, decodeBase64Image(body.image), context(body.keep_alive));
        const response = await pool.detect(request, undefined, metadata);
        return { status_code: 200, body: detectResponse(body.model, response) };
      }
      case '/v1/vision/classify': {
        const body = classifySchema.parse(item.body);
        const request = classifyRequest(body, decodeBase64Image(body.image), context(body.keep_alive));
        const response = await pool.classify(request, undefined, metadata);
        return { status_code: 200, body: classifyResponse(body.model, response) };
      }
      case '/v1/vision/segment': {
        const body = segmentSchema.parse(item.body);
        const request = segmentRequest(body, decodeBase64Image(body.image), context(body.keep_alive));
        const response = await pool.segment(request, undefined, metadata);
        return { status_code: 200, body: segmentResponse(body.model, response) };
      }
      case '/v1/vision/remove-background': {
        // A result line is JSON: a PNG goes in it as base64 (b64_png), whatever response_format says.
        const body = removeBackgroundSchema.parse(item.body);
        const request = removeBackgroundRequest(
          body,
          decodeBase64Image(body.image),
          context(body.keep_alive),
        );
        const response = await pool.removeBackground(request, undefined, metadata);
        return { status_code: 200, body: removeBackgroundResponse(body.model, response) };
      }
      case '/v1/vision/pose': {
        const body = poseSchema.parse(item.body);
        const request = poseRequest(body, decodeBase64Image(body.image), context(body.keep_alive));
        const response = await pool.pose(request, undefined, metadata);
        return { status_code: 200, body: poseResponse(body.model, response) };
      }
      default:
        throw new VmmError(ErrorCode.InvalidArgument, `url "${item.url}" cannot be batched`, {
          field: 'url',
        });
    }
  } catch (error) {
    const vmmError = VmmError.from(error);
    if (retryable.has(vmmError.code)) throw vmmError;
    const { status, body } = errorResponse(vmmError, shapeForPath(item.url));
    return { status_code: status, body };
  }
}
