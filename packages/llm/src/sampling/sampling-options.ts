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
}

export type ResolvedSampling = Required<Omit<SamplingOptions, 'maxTokens' | 'contextSize' | 'seed'>> & {
  seed: number;
  maxTokens: number | undefined;
  contextSize: number | undefined;
};

/** Ollama's defaults, which users of a local model server expect. */
export const DEFAULT_SAMPLING: Readonly<
  Omit<ResolvedSampling, 'seed' | 'stop' | 'maxTokens' | 'contextSize'>
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
  };
}
