import { CliError, ExitCode } from '../cli-error.js';
import type { CliContext } from '../cli-context.js';
import { errorMessage, lines, networkError } from './http-text.js';

export type Json = Record<string, unknown>;

export interface SendOptions {
  /** Sent as a JSON body. */
  json?: unknown;
  /** Sent as is (a FormData for uploads). */
  body?: FormData;
  signal?: AbortSignal;
}

/**
 * The gateway's HTTP API as the commands use it. Every failure becomes the one error a command
 * stops with: no answer at the address → exit 2, an error status or an error line in a stream →
 * exit 1 with the server's own message.
 */
export class GatewayClient {
  constructor(private readonly context: Pick<CliContext, 'config' | 'fetch'>) {}

  get host(): string {
    return this.context.config.host;
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.context.config.apiKey) headers.authorization = `Bearer ${this.context.config.apiKey}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.context.fetch(`${this.host}${path}`, {
        method,
        headers,
        body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new CliError(ExitCode.Usage, `${networkError(error, this.host)} (is \`vmm serve\` running?)`);
    }
    if (!response.ok) throw new CliError(ExitCode.ServerRefused, errorMessage(await response.text()));
    return response;
  }

  async json<T = Json>(method: string, path: string, options: SendOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    return (await response.json()) as T;
  }

  /** The objects of an NDJSON stream; a line with `error` ends it as the server's refusal. */
  async *stream(path: string, json: unknown, signal?: AbortSignal): AsyncGenerator<Json> {
    const response = await this.send('POST', path, { json, signal });
    if (!response.body) return;
    for await (const line of lines(response.body)) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as Json;
      if (typeof event.error === 'string') throw new CliError(ExitCode.ServerRefused, event.error);
      yield event;
    }
  }
}
