import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * A model's default sampling parameters, by Ollama's names (a Modelfile's `PARAMETER` lines,
 * `/api/create`'s `parameters`); a request's own options win over them.
 */
export interface ModelParameters {
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  repeat_penalty?: number;
  repeat_last_n?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  num_predict?: number;
  num_ctx?: number;
  stop?: string[];
}

type Kind = 'float' | 'int' | 'strings';

const kinds: Readonly<Record<keyof ModelParameters, Kind>> = {
  temperature: 'float',
  top_k: 'int',
  top_p: 'float',
  min_p: 'float',
  repeat_penalty: 'float',
  repeat_last_n: 'int',
  presence_penalty: 'float',
  frequency_penalty: 'float',
  seed: 'int',
  num_predict: 'int',
  num_ctx: 'int',
  stop: 'strings',
};

/** Ollama parameters VMM's engine has no use for: refused by name rather than ignored. */
const unsupported = new Set([
  'mirostat',
  'mirostat_eta',
  'mirostat_tau',
  'num_gpu',
  'num_thread',
  'num_batch',
  'num_keep',
  'typical_p',
  'tfs_z',
  'penalize_newline',
  'numa',
  'use_mmap',
  'use_mlock',
  'low_vram',
  'main_gpu',
]);

const MAX_STOPS = 16;
const MAX_STOP_LENGTH = 1024;

const isKey = (name: string): name is keyof ModelParameters => Object.hasOwn(kinds, name);

function bad(message: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, message, { field: 'parameters' });
}

function number(name: string, kind: 'float' | 'int', value: unknown): number {
  const parsed = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || (kind === 'int' && !Number.isInteger(parsed)))
    throw bad(
      `parameter ${name} must be ${kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`,
    );
  if (name !== 'seed' && parsed < 0) throw bad(`parameter ${name} must not be negative`);
  return parsed;
}

/**
 * Adds one parameter (a Modelfile value as text, or a JSON value) to `into`; `stop` collects.
 * Throws InvalidArgument naming the parameter.
 */
export function addParameter(into: ModelParameters, name: string, value: unknown): void {
  if (!isKey(name)) {
    throw bad(
      unsupported.has(name)
        ? `parameter ${name} is not supported by VMM`
        : `unknown parameter ${name} (known: ${Object.keys(kinds).join(', ')})`,
    );
  }
  const kind = kinds[name];
  if (kind === 'strings') {
    const values = Array.isArray(value) ? value : [value];
    const stop = (into.stop ??= []);
    for (const item of values) {
      if (typeof item !== 'string' || item.length === 0)
        throw bad(`parameter stop must be a non-empty string`);
      if (item.length > MAX_STOP_LENGTH)
        throw bad(`parameter stop: a stop sequence may be at most ${MAX_STOP_LENGTH} characters`);
      // Checked per item: an array of a million stops is refused at the 17th.
      if (stop.length >= MAX_STOPS) throw bad(`at most ${MAX_STOPS} stop sequences`);
      stop.push(item);
    }
    return;
  }
  (into as Record<string, number>)[name] = number(name, kind, value);
}

/** `/api/create`'s `parameters` object, checked. */
export function parametersFromJson(value: Record<string, unknown>): ModelParameters {
  const parameters: ModelParameters = {};
  for (const [name, item] of Object.entries(value)) addParameter(parameters, name, item);
  return parameters;
}

/** Ollama's text form (`/api/show`'s `parameters`): one `name value` per line. */
export function parametersText(parameters: ModelParameters): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(parameters) as [string, number | string[]][]) {
    if (Array.isArray(value))
      for (const item of value) lines.push(`${name.padEnd(30)} ${JSON.stringify(item)}`);
    else lines.push(`${name.padEnd(30)} ${value}`);
  }
  return lines.join('\n');
}
