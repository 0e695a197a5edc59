import { ErrorCode, VmmError } from '@vmm/errors';

/** What a request may ask of the sampler; absent fields take the model's, then VMM's defaults. */
export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repeatLastN?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  seed?: number;
  stop?: string[];
  maxTokens?: number;
  contextSize?: number;
  /** Added to these token ids' logits before sampling (OpenAI logit_bias). */
  logitBias?: Record<number, number>;
  /** Report each token's log-probability, and this many alternatives (at most 20). */
  logprobs?: boolean;
  topLogprobs?: number;
}

export type ResolvedSampling = Required<
  Omit<SamplingOptions, 'maxTokens' | 'contextSize' | 'seed' | 'logitBias' | 'logprobs' | 'topLogprobs'>
> & {
  seed: number;
  maxTokens: number | undefined;
  contextSize: number | undefined;
  logitBias: ReadonlyMap<number, number>;
  /** Alternatives to report per token; -1: no logprobs at all. */
  topLogprobs: number;
};

export const MAX_TOP_LOGPROBS = 20;
export const MAX_LOGIT_BIAS = 1024;

/** Ollama's defaults, which users of a local model server expect. */
export const DEFAULT_SAMPLING: Readonly<
  Omit<ResolvedSampling, 'seed' | 'stop' | 'maxTokens' | 'contextSize' | 'logitBias' | 'topLogprobs'>
> = {
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  minP: 0,
  repetitionPenalty: 1.1,
  repeatLastN: 64,
  presencePenalty: 0,
  frequencyPenalty: 0,
};

export const MAX_STOP_SEQUENCES = 16;
export const MAX_STOP_LENGTH = 256;

interface Range {
  field: keyof SamplingOptions;
  name: string;
  min: number;
  max: number;
  integer?: boolean;
  /** The lower bound itself is not allowed. */
  exclusiveMin?: boolean;
}

const ranges: Range[] = [
  { field: 'temperature', name: 'temperature', min: 0, max: 100 },
  { field: 'topK', name: 'top_k', min: 0, max: 1_000_000, integer: true },
  { field: 'topP', name: 'top_p', min: 0, max: 1, exclusiveMin: true },
  { field: 'minP', name: 'min_p', min: 0, max: 1 },
  { field: 'repetitionPenalty', name: 'repetition_penalty', min: 0, max: 10, exclusiveMin: true },
  { field: 'repeatLastN', name: 'repeat_last_n', min: 0, max: 1_000_000, integer: true },
  { field: 'presencePenalty', name: 'presence_penalty', min: -2, max: 2 },
  { field: 'frequencyPenalty', name: 'frequency_penalty', min: -2, max: 2 },
  { field: 'seed', name: 'seed', min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  { field: 'maxTokens', name: 'max_tokens', min: 1, max: 10_000_000, integer: true },
  { field: 'contextSize', name: 'context_size', min: 1, max: 10_000_000, integer: true },
  { field: 'topLogprobs', name: 'top_logprobs', min: 0, max: MAX_TOP_LOGPROBS, integer: true },
];

function invalid(name: string, message: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `options.${name} ${message}`, { field: `options.${name}` });
}

/** Checks every option's range; the error names the field (options.top_p, ...). */
export function validateSamplingOptions(options: SamplingOptions): void {
  for (const range of ranges) {
    const value = options[range.field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw invalid(range.name, 'must be a finite number');
    if (range.integer && !Number.isInteger(value)) throw invalid(range.name, 'must be an integer');
    const belowMin = range.exclusiveMin ? value <= range.min : value < range.min;
    if (belowMin || value > range.max) {
      const lower = range.exclusiveMin ? `(${range.min}` : `[${range.min}`;
      throw invalid(range.name, `must be in ${lower}, ${range.max}], got ${value}`);
    }
  }
  if (options.topLogprobs !== undefined && options.logprobs !== true)
    throw invalid('top_logprobs', 'needs logprobs');
  const bias = options.logitBias ?? {};
  if (typeof bias !== 'object' || bias === null) throw invalid('logit_bias', 'must map token ids to numbers');
  const biased = Object.entries(bias);
  if (biased.length > MAX_LOGIT_BIAS)
    throw invalid('logit_bias', `may hold at most ${MAX_LOGIT_BIAS} tokens`);
  for (const [id, value] of biased) {
    if (!/^\d+$/.test(id) || !Number.isSafeInteger(Number(id)))
      throw invalid('logit_bias', `keys must be token ids, got "${id}"`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < -100 || value > 100)
      throw invalid('logit_bias', `values must be in [-100, 100], got ${String(value)} for ${id}`);
  }
  const stop = options.stop ?? [];
  if (!Array.isArray(stop)) throw invalid('stop', 'must be a list of strings');
  if (stop.length > MAX_STOP_SEQUENCES)
    throw invalid('stop', `may hold at most ${MAX_STOP_SEQUENCES} sequences`);
  for (const sequence of stop) {
    if (typeof sequence !== 'string' || sequence.length === 0)
      throw invalid('stop', 'must hold non-empty strings');
    if (sequence.length > MAX_STOP_LENGTH)
      throw invalid('stop', `sequences may be at most ${MAX_STOP_LENGTH} characters`);
  }
}

/** Request options over the model's generation_config.json over VMM's defaults. */
export function resolveSampling(
  options: SamplingOptions,
  modelDefaults: Partial<SamplingOptions>,
  randomSeed: () => number,
): ResolvedSampling {
  validateSamplingOptions(options);
  const pick = <K extends keyof typeof DEFAULT_SAMPLING>(key: K) =>
    (options[key] ?? modelDefaults[key] ?? DEFAULT_SAMPLING[key]) as (typeof DEFAULT_SAMPLING)[K];
  return {
    temperature: pick('temperature'),
    topK: pick('topK'),
    topP: pick('topP'),
    minP: pick('minP'),
    repetitionPenalty: pick('repetitionPenalty'),
    repeatLastN: pick('repeatLastN'),
    presencePenalty: pick('presencePenalty'),
    frequencyPenalty: pick('frequencyPenalty'),
    seed: options.seed ?? randomSeed(),
    stop: options.stop ?? [],
    maxTokens: options.maxTokens ?? modelDefaults.maxTokens,
    contextSize: options.contextSize,
    logitBias: new Map(Object.entries(options.logitBias ?? {}).map(([id, value]) => [Number(id), value])),
    topLogprobs: options.logprobs === true ? (options.topLogprobs ?? 0) : -1,
  };
}
