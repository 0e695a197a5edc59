import { ErrorCode, VmmError } from '@vmm/errors';
import type { z } from 'zod';

/** Parses a request body; the error names the first field at fault (`options.temperature`). */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new VmmError(ErrorCode.InvalidArgument, 'the request body must be a JSON object', {
      field: 'body',
    });
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'body';
  throw new VmmError(ErrorCode.InvalidArgument, `${field}: ${issue?.message ?? 'invalid'}`, { field });
}
