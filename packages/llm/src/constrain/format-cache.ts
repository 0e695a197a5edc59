import { ErrorCode, VmmError } from '@vmm/errors';
import type { LlmTokenizer } from '../llm-tokenizer.js';
import type { OutputFormat } from '../types.js';
import { ANY_OBJECT, compileSchema, type SchemaNode } from './json-schema.js';
import { TokenTrie } from './token-trie.js';

/** Compiled schemas kept per thread, by their text: a schema is compiled once, not per request. */
const MAX_CACHED_SCHEMAS = 64;
const schemas = new Map<string, SchemaNode>();
const tries = new WeakMap<LlmTokenizer, TokenTrie>();

/** The schema a format asks for, compiled (or from the cache). */
export function compileFormat(format: OutputFormat): SchemaNode {
  if (format.type === 'json') return ANY_OBJECT;
  const cached = schemas.get(format.schema);
  if (cached) {
    // Most recently used last, so the first entry is the one to drop.
    schemas.delete(format.schema);
    schemas.set(format.schema, cached);
    return cached;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(format.schema);
  } catch {
    throw new VmmError(ErrorCode.InvalidArgument, 'format: the JSON schema is not valid JSON', {
      field: 'format',
    });
  }
  const node = compileSchema(parsed);
  schemas.set(format.schema, node);
  if (schemas.size > MAX_CACHED_SCHEMAS) schemas.delete(schemas.keys().next().value as string);
  return node;
}

/** The model's vocabulary as a byte trie, built on the first constrained request. */
export function tokenTrie(tokenizer: LlmTokenizer): TokenTrie {
  let trie = tries.get(tokenizer);
  if (!trie) {
    trie = new TokenTrie(tokenizer.tokenBytes);
    tries.set(tokenizer, trie);
  }
  return trie;
}
