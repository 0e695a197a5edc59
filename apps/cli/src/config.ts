import { loadEnv } from '@vmm/app-config';
import { z } from 'zod';

const schema = z.object({
  // Ollama's habit (OLLAMA_HOST): a bare host:port means http.
  VMM_HOST: z.string().min(1).default('http://127.0.0.1:8080'),
  VMM_API_KEY: z.string().min(1).optional(),
});

export interface CliConfig {
  /** The server's base URL, without a trailing slash. */
  host: string;
  apiKey: string | undefined;
  /**
   * The whole environment, read once here: `vmm serve` hands it on to the apps it starts, which
   * read their own settings (VMM_MODELS_DIR, VMM_HTTP_PORT, REDIS_URL, …) from it.
   */
  environment: Readonly<NodeJS.ProcessEnv>;
}

/** Turns `host`, `host:port` or a URL into a base URL, as Ollama's client reads OLLAMA_HOST. */
export function normaliseHost(value: string): string {
  const withScheme = /^[a-z][a-z\d+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`"${value}" is not a host or URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`"${value}" is not an http(s) URL`);
  return url.href.replace(/\/+$/, '');
}

/** The CLI's settings from the environment, read once. */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): Readonly<CliConfig> {
  return loadEnv(schema, env, (variables) => ({
    host: normaliseHost(variables.VMM_HOST),
    apiKey: variables.VMM_API_KEY,
    environment: { ...env },
  }));
}
