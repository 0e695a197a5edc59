import { readFolderJson } from '@vmm/runtime';
import type { SamplingOptions } from './sampling/sampling-options.js';

/** What generation needs from config.json, generation_config.json and tokenizer_config.json. */
export interface ModelConfig {
  numLayers?: number;
  numHeads?: number;
  numKvHeads?: number;
  headDim?: number;
  maxPositions: number;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** Sampling defaults the model ships (generation_config.json). */
  defaults: Partial<SamplingOptions>;
}

type Json = Record<string, unknown>;

const readJson = (dir: string, file: string): Json => readFolderJson(dir, file) ?? {};

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const ids = (value: unknown): number[] =>
  Array.isArray(value)
    ? value.filter((v): v is number => typeof v === 'number')
    : num(value) === undefined
      ? []
      : [value as number];

export function readModelConfig(dir: string): ModelConfig {
  const raw = readJson(dir, 'config.json');
  // A vision-language checkpoint keeps its decoder's shape in text_config.
  const text = raw.text_config;
  const config: Json =
    text && typeof text === 'object' && !Array.isArray(text) ? { ...raw, ...(text as Json) } : raw;
  const generation = readJson(dir, 'generation_config.json');
  const hidden = num(config.hidden_size);
  const heads = num(config.num_attention_heads);
  const eos =
    ids(generation.eos_token_id).length > 0 ? ids(generation.eos_token_id) : ids(config.eos_token_id);
  const doSample = generation.do_sample === true;
  const defaults: Partial<SamplingOptions> = {};
  if (doSample) {
    if (num(generation.temperature) !== undefined) defaults.temperature = num(generation.temperature);
    if (num(generation.top_k) !== undefined) defaults.topK = num(generation.top_k);
    if (num(generation.top_p) !== undefined) defaults.topP = num(generation.top_p);
    if (num(generation.min_p) !== undefined) defaults.minP = num(generation.min_p);
  } else if (generation.do_sample === false) {
    defaults.temperature = 0;
  }
  if (num(generation.repetition_penalty) !== undefined)
    defaults.repetitionPenalty = num(generation.repetition_penalty);
  if (num(generation.max_new_tokens) !== undefined) defaults.maxTokens = num(generation.max_new_tokens);
  const headDim =
    num(config.head_dim) ?? (hidden !== undefined && heads !== undefined ? hidden / heads : undefined);
  const result: ModelConfig = {
    maxPositions: num(config.max_position_embeddings) ?? num(config.n_positions) ?? 2048,
    eosTokenIds: eos,
    defaults,
  };
  const set = <K extends keyof ModelConfig>(key: K, value: ModelConfig[K] | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('numLayers', num(config.num_hidden_layers));
  set('numHeads', heads);
  set('numKvHeads', num(config.num_key_value_heads) ?? heads);
  set('headDim', headDim);
  set('bosTokenId', num(generation.bos_token_id) ?? num(config.bos_token_id));
  return result;
}
