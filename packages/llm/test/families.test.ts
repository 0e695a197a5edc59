// Real model families (issue 29, point 1): Llama 3, Qwen 2.5, Qwen 3, Gemma 3 and Phi-3 shapes
// with their real tokenizers, each in Optimum's layout and in ONNX Runtime GenAI builder's
// (fp32, int4, int4 with float16 activations). VMM's engine must generate what transformers.js
// generates from the same folder, token for token; agree with llama.cpp (the engine inside
// Ollama) on the GGUF its converter would write from the same checkpoint; and keep its fast path
// (batching, prefix reuse) on the builder's layout. Each folder is written once for all of them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type DecoderFamily,
  decoderFamilies,
  type FamilyFolder,
  type FamilyLayout,
  type FamilyVariant,
  ggufArchitectures,
  writeInChild,
} from '@vmm/model-fixtures';
import { familyTokenizerDir, openLlamaCpp } from '@vmm/test-support';
import { LlmRunner, type TokenLogprob } from '../src/index.js';
import { collect } from './collect.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-families-'));
const TOKENS = 32;
const folders = new Map<string, FamilyFolder>();
const name = (family: DecoderFamily, layout: FamilyLayout) => `${family}-${layout}`;

beforeAll(() => {
  for (const family of decoderFamilies) {
    for (const layout of ['optimum', 'genai'] as const) {
      const variants: FamilyVariant[] = layout === 'genai' ? ['fp32', 'q4', 'q4f16'] : ['fp32'];
      folders.set(
        name(family, layout),
        writeInChild('writeFamilyFolder', join(root, name(family, layout)), {
          family,
          layout,
          tokenizerDir: familyTokenizerDir(family),
          variants,
          seed: 29,
          ...(layout === 'optimum' && ggufArchitectures[family] ? { gguf: ['f32' as const] } : {}),
        }),
      );
    }
  }
}, 300_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** transformers.js on a folder, in a plain Node process (see transformers-greedy.mjs). */
async function transformersJs(
  folder: string,
  prompt: string,
  tokens: number,
  dtype?: string,
): Promise<{ promptIds: number[]; generated: number[] }> {
  const script = new URL('./transformers-greedy.mjs', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [script, JSON.stringify({ root, name: folder, prompt, tokens, dtype })],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as { promptIds: number[]; generated: number[] };
}

/** A family test's budget: models of real vocabularies, on a busy two-core machine. */
const BUDGET = 240_000;

const PROMPT = 'The old lighthouse keeper looked out over the grey water and said';

// The builder's fp32 files are checked against llama.cpp below (and against Optimum's in the
// fixtures' own tests); its int4 files against transformers.js here.
// The KV path each takes (see docs/architecture.md): the builder's on the C API writes the
// cache in place; without it, its rotation is taken out of the kernel.
const cases = decoderFamilies.flatMap((family) => [
  [family, 'optimum', 'fp32', 'new-rows'] as const,
  [family, 'genai', 'q4', 'shared-buffer'] as const,
  ...(family === 'llama3' ? [[family, 'genai', 'q4', 'unfused-rotary'] as const] : []),
  // float16 activations and cache.
  ...(family === 'qwen3' ? [[family, 'genai', 'q4f16', 'shared-buffer'] as const] : []),
]);

describe('each family in each exporter layout', () => {
  it.each(cases)(
    '%s (%s, %s, %s path): VMM greedy equals transformers.js for 32 tokens',
    async (family, layout, variant, kvPath) => {
      const folder = folders.get(name(family, layout)) as FamilyFolder;
      const file = variant === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${variant}.onnx`;
      const runner = await LlmRunner.open({
        dir: folder.dir,
        file,
        session: { backend: 'cpu', intraOpThreads: 1, ortCApi: kvPath !== 'unfused-rotary' },
      });
      let ours: Awaited<ReturnType<typeof collect>>;
      try {
        expect(runner.info.kvPath).toBe(kvPath);
        ours = await collect(
          runner.generate({
            prompt: PROMPT,
            raw: true,
            options: { temperature: 0, repetitionPenalty: 1, maxTokens: TOKENS },
          }),
        );
      } finally {
        await runner.close();
      }

      const { promptIds: prompt, generated: theirs } = await transformersJs(
        name(family, layout),
        PROMPT,
        TOKENS,
        variant === 'fp32' ? undefined : variant,
      );

      expect(ours.done?.promptTokens).toBe(prompt.length);
      // VMM stops at the model's end-of-turn ids; transformers.js was told not to: compare up to there.
      const stop = theirs.findIndex((id) => folder.eosTokenIds.includes(id));
      const expected = stop < 0 ? theirs : theirs.slice(0, stop);
      expect(ours.ids).toEqual(expected);
      expect(expected.length).toBeGreaterThan(4);
    },
    BUDGET,
  );
});

const WORDS = 'the keeper of the light wrote every night about ships and storms far out at sea'.split(' ');
const text = (words: number, offset: number) =>
  Array.from({ length: words }, (_, i) => WORDS[(i + offset) % WORDS.length]).join(' ');

describe.each([
  // Packed QKV (Phi-3); per-head Q/K norms with sliding windows over a gapped cache (Gemma 3).
  ['phi3', 'fp32'],
  ['gemma3', 'fp32'],
] as const)('the builder layout’s fast path: %s (%s)', (family, variant) => {
  const open = (batching: { maxBatch?: number; prefillChunk?: number }) =>
    LlmRunner.open({
      dir: (folders.get(name(family, 'genai')) as FamilyFolder).dir,
      file: variant === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${variant}.onnx`,
      session: { backend: 'cpu', intraOpThreads: 1 },
      batching: { prefillChunk: 16, prefillChunkAlone: 16, ...batching },
    });

  it(
    'batches sequences of different lengths (across Gemma’s window) as each runs alone, and reuses prefixes',
    async () => {
      const requests = [
        { prompt: text(40, 0), options: { temperature: 0, maxTokens: 24 } },
        { prompt: text(3, 1), options: { temperature: 0.8, seed: 7, maxTokens: 30 } },
        { prompt: text(20, 2), options: { temperature: 0, maxTokens: 12 } },
      ];
      const alone = await open({ maxBatch: 1 });
      const batched = await open({ maxBatch: 4 });
      try {
        const expected: number[][] = [];
        for (const request of requests)
          expected.push((await collect(alone.generate({ ...request, raw: true }))).ids);
        const outputs = await Promise.all(
          requests.map((request) => collect(batched.generate({ ...request, raw: true }))),
        );
        outputs.forEach((output, index) => expect(output.ids).toEqual(expected[index]));

        // A follow-up that starts with an earlier prompt continues from its cached rows.
        const followUp = {
          prompt: `${text(40, 0)} ${text(8, 3)}`,
          options: { temperature: 0, maxTokens: 12 },
        };
        const before = (await batched.stats()).prefixCacheHits;
        const reused = await collect(batched.generate({ ...followUp, raw: true }));
        expect((await batched.stats()).prefixCacheHits).toBe(before + 1);
        expect(reused.ids).toEqual((await collect(alone.generate({ ...followUp, raw: true }))).ids);
      } finally {
        await Promise.all([alone.close(), batched.close()]);
      }
    },
    BUDGET,
  );
});

const LONG_PROMPT =
  'The old lighthouse keeper looked out over the grey water and said that the ships would come ' +
  'back before the winter storms, as they had every year since his father kept the light.';
const TOP = 10;
/**
 * How far apart two log-probabilities of the same token may be. llama.cpp's CPU GELU (Gemma's
 * activation) reads a float16 table (GGML_GELU_FP16), which moves Gemma's by a few 1e-3.
 */
const tolerance = (family: DecoderFamily) => (family === 'gemma3' ? 1e-2 : 2e-3);

const ggufFamilies = decoderFamilies.filter((family) => ggufArchitectures[family] !== undefined);

describe.each(ggufFamilies)('%s: VMM and llama.cpp on the same weights', (family) => {
  it(
    'agree on the next-token distribution after a long prompt and on the greedy continuation',
    async () => {
      const optimum = folders.get(name(family, 'optimum')) as FamilyFolder;
      const ids = (await transformersJs(name(family, 'optimum'), LONG_PROMPT, 0)).promptIds;
      expect(ids.length).toBeGreaterThan(30);
      // Optimum's file: the builder's computes the same logits (the fixtures' layout test).
      const runner = await LlmRunner.open({
        dir: optimum.dir,
        file: 'onnx/model.onnx',
        session: { backend: 'cpu', intraOpThreads: 1 },
      });
      const peer = await openLlamaCpp({
        modelPath: join(optimum.dir, 'gguf', 'model-f32.gguf'),
        threads: 1,
        contextSize: 256,
        exactKvCache: true,
      }).catch(async (error: unknown) => {
        await runner.close();
        throw error;
      });
      try {
        const theirs = await peer.nextLogProbs(ids);
        const expectedTop = [...theirs.keys()]
          .sort((a, b) => (theirs[b] as number) - (theirs[a] as number))
          .slice(0, TOP);
        const [continuation] = await peer.generate([ids], 16);
        const first = await collect(
          runner.generate({
            prompt: LONG_PROMPT,
            raw: true,
            options: {
              temperature: 0,
              repetitionPenalty: 1,
              maxTokens: 1,
              logprobs: true,
              topLogprobs: TOP,
            },
          }),
        );
        expect(first.done?.promptTokens).toBe(ids.length);
        const top = (first.chunks.flatMap((chunk) => chunk.logprobs ?? [])[0] as TokenLogprob).top;
        // The same ten, each within rounding; one swapped at the boundary only by a near-tie.
        for (const entry of top)
          expect(Math.abs(entry.logprob - (theirs[entry.tokenId] as number))).toBeLessThan(tolerance(family));
        const last = (top.at(-1) as { logprob: number }).logprob;
        for (const id of expectedTop.filter((id) => !top.some((entry) => entry.tokenId === id)))
          expect((theirs[id] as number) - last).toBeLessThan(tolerance(family));
        expect(top[0]?.tokenId).toBe(expectedTop[0]);

        const greedy = await collect(
          runner.generate({
            prompt: LONG_PROMPT,
            raw: true,
            options: { temperature: 0, repetitionPenalty: 1, maxTokens: 16 },
          }),
        );
        expect(greedy.ids).toEqual(continuation?.tokens);
      } finally {
        await Promise.all([runner.close(), peer.close()]);
      }
    },
    BUDGET,
  );
});
