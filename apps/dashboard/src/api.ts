// The gateway's HTTP API as the pages use it: same origin, the API key (when the gateway asks for
// one) kept in session storage, errors carried as the API sends them.

const KEY = 'vmm.apiKey';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** Told when a request is refused for want of a key, so the app can ask for one. */
let onUnauthorized: (message: string) => void = () => undefined;
export function whenUnauthorized(listener: (message: string) => void): void {
  onUnauthorized = listener;
}

type Json = Record<string, unknown>;

/** The message of an error body in Ollama's, OpenAI's or VMM's shape. */
export function errorText(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as Json;
    if (typeof body.error === 'string') return body.error;
    const error = body.error as Json | undefined;
    if (error && typeof error.message === 'string') return error.message;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300) || `HTTP ${status}`;
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = apiKey.get();
  if (key) headers.set('authorization', `Bearer ${key}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(0, 'the gateway does not answer');
  }
  if (!response.ok) {
    const message = errorText(response.status, await response.text());
    if (response.status === 401) {
      apiKey.clear();
      onUnauthorized(message);
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await request(path, { signal })).json()) as T;
}

export async function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const response = await request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  return (await response.json()) as T;
}

/** The objects of an NDJSON stream (Ollama's routes), as they arrive. */
export async function* streamJson(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<Json> {
  const response = await request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
    let end = rest.indexOf('\n');
    while (end >= 0) {
      const line = rest.slice(0, end).trim();
      rest = rest.slice(end + 1);
      end = rest.indexOf('\n');
      if (line === '') continue;
      const event = JSON.parse(line) as Json;
      if (typeof event.error === 'string') throw new ApiError(200, event.error);
      yield event;
    }
  }
}

export interface ModelTag {
  name: string;
  size: number;
  modified_at: string;
  details: {
    task: string;
    family: string;
    parameter_size: string;
    quantization_level: string;
    format: string;
  };
}

export interface LoadedModel {
  name: string;
  size_vram: number;
  expires_at: string;
  worker: string;
}

export interface WorkerView {
  id: string;
  backend: string;
  address: string;
  up: boolean;
  last_seen: string | null;
  last_error: string | null;
  device: string | null;
  providers: string[];
  running: number;
  queued: number;
  capacity: number;
  loaded_models: string[];
  models: string[];
}

export const listModels = () => getJson<{ models: ModelTag[] }>('/api/tags').then((r) => r.models);
export const listLoaded = () => getJson<{ models: LoadedModel[] }>('/api/ps').then((r) => r.models);
export const listWorkers = () => getJson<{ workers: WorkerView[] }>('/v1/workers').then((r) => r.workers);
