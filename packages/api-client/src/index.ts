import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './gen/vmm-api.js';

export type { paths, components, operations } from './gen/vmm-api.js';

/** A typed client of every route in the gateway's OpenAPI document (openapi-fetch). */
export type VmmClient = Client<paths>;

export interface VmmClientOptions {
  /** The gateway, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** Sent as a bearer token when the gateway wants a key (VMM_API_KEYS). */
  apiKey?: string;
  fetch?: typeof fetch;
}

export function createVmmClient(options: VmmClientOptions): VmmClient {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
