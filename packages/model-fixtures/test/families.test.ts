// The family fixtures (issue 29, point 1): on the same weights, Optimum's layout (eager attention,
// rotary as ops) and ONNX Runtime GenAI builder's (GroupQueryAttention rotating inside, packed
// QKV, SkipSimplifiedLayerNormalization) must compute the same logits, for a prompt and for a
// decode step from a cache; the real tokenizer files travel with each folder; Gemma's window is
// really applied.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { familyTokenizerDir } from '@vmm/test-support';
import {
  type DecoderFamily,
  decoderFamilies,
  type FamilyFolder,
  type FamilyLayout,
  writeInChild,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-family-fixtures-'));
const folders = new Map<string, FamilyFolder>();
const write = (family: DecoderFamily, layout: FamilyLayout, label: string = layout, window?: number) => {
  const folder = writeInChild('writeFamilyFolder', join(root, `${family}-${label}`), {
    family,
    layout,
    tokenizerDir: familyTokenizerDir(family),
    seed: 5,
    // The window checks need no real vocabulary: a small one keeps them quick.
    ...(window === undefined
      ? {}
      : { shape: { vocabSize: 1024, slidingWindow: { size: window, pattern: 6, localRopeTheta: 10000 } } }),
  });
  folders.set(`${family}-${label}`, folder);
  return folder;
};

beforeAll(() => {
  for (const family of decoderFamilies) {
    write(family, 'optimum');
    write(family, 'genai');
  }
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A test's budget: models of real vocabularies (Gemma's embedding is 67 MB) on a busy machine. */
const BUDGET = 120_000;

/** Logits of `ids` after `pastIds` (run first, its presents fed back), from one ONNX file. */
async function logits(folder: FamilyFolder, ids: number[], pastIds: number[] = []): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(join(folder.dir, 'onnx', 'model.onnx'), {
    intraOpNumThreads: 1,
  });
  const { numLayers, numKvHeads, headDim } = folder.shape;
  let past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < numLayers; layer += 1)
    for (const kind of ['key', 'value'])
      past[`past_key_values.${layer}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        numKvHeads,
        0,
        headDim,
      ]);
  const run = async (tokens: number[], offset: number) => {
    const total = offset + tokens.length;
    const feeds: Record<string, ort.Tensor> = {
      ...past,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (session.inputNames.includes('position_ids'))
      feeds.position_ids = new ort.Tensor(
        'int64',
        BigInt64Array.from(tokens, (_, i) => BigInt(offset + i)),
        [1, tokens.length],
      );
    const out = await session.run(feeds);
    past = {};
    for (let layer = 0; layer < numLayers; layer += 1)
      for (const kind of ['key', 'value'])
        past[`past_key_values.${layer}.${kind}`] = out[`present.${layer}.${kind}`] as ort.Tensor;
    return out.logits?.data as Float32Array;
  };
  try {
    if (pastIds.length > 0) await run(pastIds, 0);
    return await run(ids, pastIds.length);
  } finally {
    await session.release();
  }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

// 24 prompt tokens: past Gemma's window of 16.
const prompt = Array.from({ length: 24 }, (_, i) => (i * 7919 + 13) % 30000);

describe.each(decoderFamilies)('%s', (family) => {
  it(
    'computes the same logits in both exporters’ layouts (fp32, within 1e-3), for a prompt and a step from a cache',
    async () => {
      const optimum = folders.get(`${family}-optimum`) as FamilyFolder;
      const genai = folders.get(`${family}-genai`) as FamilyFolder;
      const whole = await logits(optimum, prompt);
      expect(maxDifference(whole, await logits(genai, prompt))).toBeLessThan(1e-3);
      // The logits spread wide (greedy is not decided by rounding).
      const spread = Math.sqrt(whole.reduce((sum, x) => sum + x * x, 0) / whole.length);
      expect(spread).toBeGreaterThan(1);
      const step = await logits(optimum, [prompt[0] as number], prompt.slice(1));
      expect(maxDifference(step, await logits(genai, [prompt[0] as number], prompt.slice(1)))).toBeLessThan(
        1e-3,
      );
    },
    BUDGET,
  );

  it(
    'carries the real tokenizer, the vocabulary size, and each layout’s files',
    () => {
      const optimum = folders.get(`${family}-optimum`) as FamilyFolder;
      const genai = folders.get(`${family}-genai`) as FamilyFolder;
      const config = JSON.parse(readFileSync(join(optimum.dir, 'config.json'), 'utf8')) as {
        vocab_size: number;
      };
      const tokenizer = JSON.parse(readFileSync(join(optimum.dir, 'tokenizer.json'), 'utf8')) as {
        model: { vocab: Record<string, number> };
      };
      expect(config.vocab_size).toBeGreaterThanOrEqual(Object.keys(tokenizer.model.vocab).length);
      if (family === 'phi3') {
        // Phi-3's tokenizer is Llama 2's with eleven tokens added (32 000 on) and its own template.
        const added = (
          JSON.parse(readFileSync(join(optimum.dir, 'tokenizer.json'), 'utf8')) as {
            added_tokens: { id: number; content: string }[];
          }
        ).added_tokens;
        expect(added.find((token) => token.content === '<|end|>')?.id).toBe(32007);
        expect(added.find((token) => token.content === '<|user|>')?.id).toBe(32010);
        expect(optimum.eosTokenIds).toEqual([32000, 32001, 32007]);
        expect(readFileSync(join(optimum.dir, 'tokenizer_config.json'), 'utf8')).toContain('<|assistant|>');
      } else {
        expect(readFileSync(join(optimum.dir, 'tokenizer_config.json'))).toEqual(
          readFileSync(join(familyTokenizerDir(family), 'tokenizer_config.json')),
        );
      }
      expect(existsSync(join(genai.dir, 'genai_config.json'))).toBe(true);
      expect(existsSync(join(optimum.dir, 'genai_config.json'))).toBe(false);
      expect(optimum.eosTokenIds.length).toBeGreaterThan(0);
    },
    BUDGET,
  );
});

describe('Gemma 3’s sliding window', () => {
  it(
    'changes what a query past the window sees, and only there (both layouts)',
    async () => {
      for (const layout of ['optimum', 'genai'] as const) {
        const windowed = write('gemma3', layout, `${layout}-window`, 16);
        const wide = write('gemma3', layout, `${layout}-wide`, 4096);
        const ids = prompt.map((id) => id % 1024);
        const a = await logits(windowed, ids);
        const b = await logits(wide, ids);
        const vocab = windowed.shape.vocabSize;
        const window = windowed.shape.slidingWindow?.size ?? 0;
        // Positions inside the window: identical; past it, different.
        expect(maxDifference(a.subarray(0, window * vocab), b.subarray(0, window * vocab))).toBeLessThan(
          1e-5,
        );
        expect(maxDifference(a.subarray(window * vocab), b.subarray(window * vocab))).toBeGreaterThan(1e-2);
      }
    },
    BUDGET,
  );
});
