import { ErrorCode, errorBody, errorHeaders, httpStatusFor, type VmmError } from '@vmm/errors';

/** Which ecosystem's error body a route answers with. */
export type ErrorShape = 'vmm' | 'ollama' | 'openai';

const openAiTypes: Readonly<Partial<Record<ErrorCode, string>>> = {
  [ErrorCode.Unauthenticated]: 'authentication_error',
  [ErrorCode.PermissionDenied]: 'permission_error',
  [ErrorCode.NotFound]: 'not_found_error',
  [ErrorCode.ResourceExhausted]: 'rate_limit_error',
};

/**
 * The HTTP answer for an error: the status from @vmm/errors, the body in the route's
 * ecosystem — VMM `{error: {code, message}}`, Ollama `{error: "..."}`, OpenAI
 * `{error: {message, type, param, code}}` — and headers such as Retry-After.
 */
export function errorResponse(
  error: VmmError,
  shape: ErrorShape,
): { status: number; headers: Record<string, string>; body: unknown } {
  const status = httpStatusFor(error.code);
  const headers = errorHeaders(error);
  if (shape === 'ollama') return { status, headers, body: { error: error.message } };
  if (shape === 'openai') {
    return {
      status,
      headers,
      body: {
        error: {
          message: error.message,
          type: openAiTypes[error.code] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
          param: error.field ?? null,
          // OpenAI's clients look for model_not_found on a missing model, only there.
          code:
            error.reason ??
            (error.code === ErrorCode.NotFound && error.field === 'model' ? 'model_not_found' : error.code),
        },
      },
    };
  }
  return { status, headers, body: errorBody(error) };
}

/** Ollama's shape under /api/, OpenAI's on every /v1/ route (VMM's own ones too), else VMM's. */
export function shapeForPath(path: string): ErrorShape {
  if (path.startsWith('/api/')) return 'ollama';
  if (path === '/v1' || path.startsWith('/v1/')) return 'openai';
  return 'vmm';
}
