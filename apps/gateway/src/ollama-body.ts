import type { Response } from 'express';
import { parseLenientBody } from '@vmm/http-api';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { requestIdOf } from './request-context.js';

/** The response header that names the fields an Ollama route left out. */
export const IGNORED_HEADER = 'X-VMM-Ignored';

/**
 * Reads an Ollama route's body as Ollama would: unknown fields are ignored, never refused. What
 * was ignored is said in X-VMM-Ignored (comma-separated paths) and in a debug log line, so a
 * client that misspelt a field can find out.
 */
export function ollamaBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  res: Response,
  logger: Logger,
): z.infer<T> {
  const { data, ignored } = parseLenientBody(schema, body);
  if (ignored.length > 0) {
    res.set(IGNORED_HEADER, ignored.join(', '));
    logger.debug({ requestId: requestIdOf(res), ignored }, 'ignored unknown fields, as Ollama does');
  }
  return data;
}
