import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import { readFolderJson } from '@vmm/runtime';

export type Pooling = 'mean' | 'cls' | 'max' | 'lasttoken';

/** How a folder's encoder turns hidden states into one vector, read from its own files. */
export interface EmbeddingSpec {
  pooling: Pooling;
  /** A Normalize module follows pooling (sentence-transformers' modules.json). */
  normalize: boolean;
  /** The longest input in tokens, special tokens included. */
  maxTokens: number;
}

type Json = Record<string, unknown>;

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/**
 * sentence-transformers' layout: modules.json lists Transformer → Pooling (its folder's
 * config.json says which pooling) → Normalize; sentence_bert_config.json caps the length.
 * A bare Optimum export without them gets mean pooling, as transformers.js's pipeline does.
 */
export function readEmbeddingSpec(dir: string): EmbeddingSpec {
  let pooling: Pooling = 'mean';
  let normalize = false;
  const modules = (() => {
    const path = join(dir, 'modules.json');
    if (!existsSync(path)) return undefined;
    try {
      const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
      return Array.isArray(value) ? (value as Json[]) : undefined;
    } catch (error) {
      throw new VmmError(ErrorCode.FailedPrecondition, 'modules.json is not valid JSON', { cause: error });
    }
  })();
  for (const module of modules ?? []) {
    const type = String(module.type ?? '');
    if (type.endsWith('.Normalize')) normalize = true;
    if (type.endsWith('.Pooling')) {
      const config = readFolderJson(dir, join(String(module.path ?? '1_Pooling'), 'config.json')) ?? {};
      if (config.pooling_mode_cls_token === true) pooling = 'cls';
      else if (config.pooling_mode_max_tokens === true) pooling = 'max';
      else if (config.pooling_mode_lasttoken === true) pooling = 'lasttoken';
      else if (config.pooling_mode_mean_tokens === true || config.pooling_mode_mean_sqrt_len_tokens !== true)
        pooling = 'mean';
      else {
        throw new VmmError(
          ErrorCode.FailedPrecondition,
          'the pooling config asks for a pooling mode VMM does not run',
        );
      }
    }
  }
  const config = readFolderJson(dir, 'config.json') ?? {};
  const tokenizerConfig = readFolderJson(dir, 'tokenizer_config.json') ?? {};
  const sentence = readFolderJson(dir, 'sentence_bert_config.json') ?? {};
  const limits = [
    positive(sentence.max_seq_length),
    positive(tokenizerConfig.model_max_length),
    positive(config.max_position_embeddings),
  ].filter((value): value is number => value !== undefined && value < 1e9);
  return { pooling, normalize, maxTokens: limits.length > 0 ? Math.min(...limits) : 512 };
}
