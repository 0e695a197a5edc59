import { ErrorCode, VmmError } from '@vmm/errors';
import { Backend } from '@vmm/proto';
import {
  checkEmbedSize,
  checkPromptSize,
  openaiEmbedRequest,
  type OpenAiEmbedBody,
  classifySchema,
  type OllamaGenerateBody,
  type OpenAiChatBody,
  type OpenAiCompletionBody,
  ollamaTextJob,
  openaiTextJob,
  type TextJob,
  detectSchema,
  poseSchema,
  removeBackgroundSchema,
  segmentSchema,
  ollamaGenerateSchema,
  openaiChatSchema,
  openaiCompletionSchema,
  openaiEmbedSchema,
  parseLenientBody,
} from '@vmm/http-api';
import { z } from 'zod';

/** The routes a batch item may target, each validated with that route's own schema. */
export const BATCH_URLS = {
  '/v1/chat/completions': openaiChatSchema,
  '/v1/completions': openaiCompletionSchema,
  '/api/generate': ollamaGenerateSchema,
  '/v1/vision/detect': detectSchema,
  '/v1/vision/classify': classifySchema,
  '/v1/vision/segment': segmentSchema,
  '/v1/vision/pose': poseSchema,
  '/v1/vision/remove-background': removeBackgroundSchema,
  '/v1/embeddings': openaiEmbedSchema,
} as const;

export type BatchUrl = keyof typeof BATCH_URLS;

export interface BatchItem {
  customId: string;
  url: BatchUrl;
  body: Record<string, unknown>;
}

export interface BatchLimits {
  maxItems: number;
  /** The gateway's VMM_MAX_PROMPT_BYTES, applied to each text item. */
  maxPromptBytes?: number;
}

const NO_CONTEXT = { requestId: '', backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: undefined };

/** The text job an item will run, for the limits on its prompt; undefined for vision items. */
function textJob(url: string, body: unknown): TextJob | undefined {
  if (url === '/api/generate') return ollamaTextJob(body as OllamaGenerateBody, NO_CONTEXT);
  if (url === '/v1/chat/completions') return openaiTextJob(body as OpenAiChatBody, NO_CONTEXT);
  if (url === '/v1/completions') return openaiTextJob(body as OpenAiCompletionBody, NO_CONTEXT);
  return undefined;
}

const lineSchema = z.object({
  custom_id: z.string().min(1).max(256),
  method: z.literal('POST').optional(),
  url: z.string(),
  body: z.record(z.string(), z.unknown()),
});

function lineError(line: number, message: string, field = `line ${line}`): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `line ${line}: ${message}`, { field });
}

/**
 * An item's body, checked as its route checks it live: Ollama's route ignores fields it does not
 * know (they are left out here too), the others refuse them.
 */
function checkBody(url: string, schema: z.ZodType, body: unknown, line: number): { data: unknown } {
  if (url.startsWith('/api/')) {
    try {
      return { data: parseLenientBody(schema, body).data };
    } catch (error) {
      throw lineError(line, `body.${VmmError.from(error).message}`);
    }
  }
  const checked = schema.safeParse(body);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw lineError(line, `body.${issue?.path.map(String).join('.')}: ${issue?.message ?? 'invalid'}`);
  }
  return checked;
}

/**
 * Reads a batch: JSONL (one `{custom_id, method, url, body}` per line, as OpenAI's Batch API
 * takes it) or JSON `{requests: [...]}`. Every item is validated with its route's schema before
 * anything is queued; an error names the line (1-based) and the field.
 */
export function parseBatchInput(text: string, limits: BatchLimits): BatchItem[] {
  const trimmed = text.trim();
  let lines: { line: number; value: unknown }[];
  if (trimmed.startsWith('{') && !trimmed.includes('\n{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = undefined;
    }
    const requests = (parsed as { requests?: unknown } | undefined)?.requests;
    if (Array.isArray(requests)) lines = requests.map((value, i) => ({ line: i + 1, value }));
    else lines = parseJsonl(trimmed);
  } else {
    lines = parseJsonl(trimmed);
  }
  if (lines.length === 0)
    throw new VmmError(ErrorCode.InvalidArgument, 'the batch has no requests', { field: 'requests' });
  if (lines.length > limits.maxItems) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the batch has ${lines.length} requests; the limit is ${limits.maxItems}`,
      {
        field: 'requests',
      },
    );
  }
  const seen = new Map<string, number>();
  return lines.map(({ line, value }) => {
    const parsed = lineSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.map(String).join('.') || 'line';
      throw lineError(line, `${field}: ${issue?.message ?? 'invalid'}`);
    }
    const { custom_id: customId, url, body } = parsed.data;
    const earlier = seen.get(customId);
    if (earlier !== undefined) throw lineError(line, `custom_id "${customId}" repeats line ${earlier}`);
    seen.set(customId, line);
    const schema = (BATCH_URLS as Record<string, z.ZodType>)[url];
    if (!schema) throw lineError(line, `url "${url}" is not one of ${Object.keys(BATCH_URLS).join(', ')}`);
    const checked = checkBody(url, schema, body, line);
    if ((body as { stream?: unknown }).stream === true)
      throw lineError(line, 'body.stream: batch items cannot stream');
    let job: TextJob | undefined;
    try {
      // Building the job applies the route's own refusals (fields VMM does not honour).
      job = textJob(url, checked.data);
    } catch (error) {
      throw lineError(line, VmmError.from(error).message);
    }
    if (limits.maxPromptBytes !== undefined) {
      try {
        if (job) checkPromptSize(job, limits.maxPromptBytes);
        if (url === '/v1/embeddings') {
          checkEmbedSize(
            openaiEmbedRequest(checked.data as OpenAiEmbedBody, NO_CONTEXT),
            limits.maxPromptBytes,
          );
        }
      } catch (error) {
        throw new VmmError(ErrorCode.PayloadTooLarge, `line ${line}: ${(error as Error).message}`, {
          field: `line ${line}`,
        });
      }
    }
    return { customId, url: url as BatchUrl, body };
  });
}

function parseJsonl(text: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '') return;
    try {
      out.push({ line: index + 1, value: JSON.parse(raw) });
    } catch (error) {
      throw lineError(index + 1, `not valid JSON (${(error as Error).message})`);
    }
  });
  return out;
}
