import type { ModelParameters } from '@vmm/model-store';
import { type ChatMessage, Role, type SamplingOptions } from '@vmm/proto';

/** Ollama's parameter names → the proto's sampling fields. */
const fields: Readonly<Record<Exclude<keyof ModelParameters, 'stop'>, keyof SamplingOptions>> = {
  temperature: 'temperature',
  top_k: 'topK',
  top_p: 'topP',
  min_p: 'minP',
  repeat_penalty: 'repetitionPenalty',
  repeat_last_n: 'repeatLastN',
  presence_penalty: 'presencePenalty',
  frequency_penalty: 'frequencyPenalty',
  seed: 'seed',
  num_predict: 'maxTokens',
  num_ctx: 'contextSize',
};

/**
 * A request's sampling options over its model's defaults (a Modelfile's PARAMETER lines): what
 * the request sets wins, field by field, as in Ollama.
 */
export function withDefaultOptions(
  options: SamplingOptions | undefined,
  defaults: ModelParameters | undefined,
): SamplingOptions | undefined {
  if (!defaults) return options;
  const merged: Record<string, unknown> = { stop: [], ...options };
  for (const [name, field] of Object.entries(fields) as [keyof typeof fields, keyof SamplingOptions][]) {
    const value = defaults[name];
    if (value !== undefined && merged[field] === undefined) merged[field] = value;
  }
  if ((options?.stop.length ?? 0) === 0 && defaults.stop) merged.stop = [...defaults.stop];
  return merged as unknown as SamplingOptions;
}

/** A chat without a system turn gets its model's SYSTEM prompt first. */
export function withDefaultSystem(messages: ChatMessage[], system: string | undefined): ChatMessage[] {
  if (system === undefined || messages.some((message) => message.role === Role.ROLE_SYSTEM)) return messages;
  return [{ role: Role.ROLE_SYSTEM, content: system, images: [] }, ...messages];
}
