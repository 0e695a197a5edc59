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

/** Levels of nesting at which unknown fields are dropped (body, options, messages[i], tools[i].function). */
const MAX_LENIENT_PASSES = 6;

/** `value` with the key `key` of the object at `path` left out; the objects on the way are copied. */
function withoutKey(value: unknown, path: readonly PropertyKey[], key: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  const [head, ...rest] = path;
  const copy: Record<PropertyKey, unknown> = Array.isArray(value)
    ? ([...value] as unknown as Record<PropertyKey, unknown>)
    : { ...(value as Record<PropertyKey, unknown>) };
  if (head === undefined) delete copy[key];
  else copy[head] = withoutKey(copy[head], rest, key);
  return copy;
}

/**
 * Parses a body the way Ollama does (Go's JSON decoding): a field the schema does not know,
 * at any depth, is left out rather than refused, and named in `ignored` (`options.num_gpu`,
 * `messages.0.extra`) so the route can say so. Every other fault is refused as `parseBody` does.
 * The schemas stay strict, so the OpenAPI document and the strict routes share them.
 */
export function parseLenientBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { data: z.infer<T>; ignored: string[] } {
  const ignored: string[] = [];
  let input = body;
  for (let pass = 0; pass < MAX_LENIENT_PASSES; pass++) {
    if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) break;
    const parsed = schema.safeParse(input);
    if (parsed.success) return { data: parsed.data, ignored };
    const unknown = parsed.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    if (unknown.length === 0) break;
    for (const issue of unknown) {
      for (const key of issue.keys) {
        ignored.push([...issue.path.map(String), key].join('.'));
        input = withoutKey(input, issue.path, key);
      }
    }
  }
  return { data: parseBody(schema, input), ignored };
}
