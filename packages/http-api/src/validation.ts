import { ErrorCode, VmmError } from '@vmm/errors';
import type { z } from 'zod';

/** The reason OpenAI-shaped errors carry for a field VMM does not take. */
export const UNSUPPORTED_PARAMETER = 'unsupported_parameter';

/** A 400 for a field VMM refuses rather than ignores; `why` says what to do instead. */
export function unsupportedField(field: string, why: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `unsupported parameter '${field}': ${why}`, {
    field,
    reason: UNSUPPORTED_PARAMETER,
  });
}

/**
 * Parses a request body; the error names the first field at fault (`options.temperature`).
 * Schemas are strict: a field VMM does not know is refused by name, never silently dropped.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new VmmError(ErrorCode.InvalidArgument, 'the request body must be a JSON object', {
      field: 'body',
    });
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    throw unsupportedField(
      path ? `${path}.${key}` : key,
      'VMM does not support it; remove it from the request',
    );
  }
  const field = path || 'body';
  throw new VmmError(ErrorCode.InvalidArgument, `${field}: ${issue?.message ?? 'invalid'}`, { field });
}
