import type { Json } from '../client/gateway-client.js';

/** The sampling parameters `/set parameter` takes: Ollama's `options` names and value kinds. */
const kinds = {
  temperature: 'number',
  top_p: 'number',
  top_k: 'integer',
  min_p: 'number',
  num_predict: 'integer',
  num_ctx: 'integer',
  seed: 'integer',
  repeat_penalty: 'number',
  presence_penalty: 'number',
  frequency_penalty: 'number',
  stop: 'text',
} as const;

export const parameterNames = Object.keys(kinds);

/** Sets one parameter in `options` (stop adds a stop sequence); throws with a reason when it cannot. */
export function chatParameter(options: Json, name: string, value: string): void {
  const kind = (kinds as Record<string, string>)[name];
  if (kind === undefined) throw new Error(`unknown parameter '${name}'; one of ${parameterNames.join(', ')}`);
  if (kind === 'text') {
    const stops = Array.isArray(options.stop) ? (options.stop as string[]) : [];
    options.stop = [...stops, value.replace(/^"(.*)"$/, '$1')];
    return;
  }
  const number = Number(value);
  if (!Number.isFinite(number) || (kind === 'integer' && !Number.isInteger(number)))
    throw new Error(`${name} takes ${kind === 'integer' ? 'a whole number' : 'a number'}, not '${value}'`);
  options[name] = number;
}
