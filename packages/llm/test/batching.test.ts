// Continuous batching on real fixture folders: a sequence generated in a batch (joining and
// leaving mid-flight, beside others of other lengths) equals the same request generated alone;
// cancellation, the KV-cache budget and prefix reuse, each observed through the runner.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@vmm/errors';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { type BatchingOptions, type GenerationChunk, LlmRunner, type SamplingOptions } from '../src/index.js';
import { collect } from './collect.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-batching-'));
const session = { backend: 'cpu' as const, intraOpThreads: 1 };
const runners: LlmRunner[] = [];

async function open(
  dir: string,
  batching: Partial<BatchingOptions> = {},
  file = 'onnx/model.onnx',
  sessionOptions: { ortCApi?: boolean } = {},
) {
  const runner = await LlmRunner.open({ dir, file, session: { ...session, ...sessionOptions }, batching });
  runners.push(runner);
  return runner;
}

beforeAll(() => {
  writeLlamaFolder(join(root, 'gqa'), { variants: ['fp32', 'fp16', 'merged', 'int8', 'q4'] });
  writeLlamaFolder(join(root, 'eager'), { attention: 'eager' });
  writeLlamaFolder(join(root, 'medium'), { preset: 'medium' });
});

afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  rmSync(root, { recursive: true, force: true });
});

const WORDS = 'the people of the town were kind and they worked hard every day by the sea'.split(' ');
const prompt = (words: number, offset: number) =>
  Array.from({ length: words }, (_, i) => WORDS[(i + offset) % WORDS.length]).join(' ');

/** Prompts of mixed lengths; the first two exceed one prefill chunk, sampling greedy or seeded. */
const cases: { prompt: string; options: SamplingOptions; after: number }[] = [
  { prompt: prompt(90, 0), options: { temperature: 0, maxTokens: 24 }, after: 0 },
  { prompt: prompt(3, 1), options: { temperature: 0.9, seed: 11, maxTokens: 40 }, after: 0 },
  { prompt: prompt(40, 2), options: { temperature: 0, maxTokens: 8 }, after: 3 },
  { prompt: prompt(12, 3), options: { temperature: 0.7, topK: 20, seed: 5, maxTokens: 30 }, after: 6 },
  { prompt: prompt(70, 4), options: { temperature: 0, maxTokens: 16 }, after: 10 },
];

describe.each([
  // The shared-buffer path: the cache bound in place through ONNX Runtime's C API.
  ['GroupQueryAttention, fp32', 'gqa', 'onnx/model.onnx', 'shared-buffer', true],
  ['GroupQueryAttention, fp16', 'gqa', 'onnx/model_fp16.onnx', 'shared-buffer', true],
  // Where the C API is off: onnxruntime-node's session and the graph's new rows.
  ['GroupQueryAttention, fp32, C API off', 'gqa', 'onnx/model.onnx', 'new-rows', false],
  ['eager attention', 'eager', 'onnx/model.onnx', 'new-rows', true],
  ['merged decoder (presents cut)', 'gqa', 'onnx/decoder_model_merged.onnx', 'presents', true],
  // MatMulNBits quantizes activations per row and block: rows stay independent.
  ['int4 (MatMulNBits)', 'gqa', 'onnx/model_q4.onnx', 'shared-buffer', true],
] as const)('continuous batching: %s', (_name, folder, file, kvPath, ortCApi) => {
  it('gives each sequence what it gives alone, with joins and leaves mid-flight', async () => {
    const dir = join(root, folder);
    const alone = await open(dir, { maxBatch: 1, prefillChunk: 16, prefillChunkAlone: 16 }, file, {
      ortCApi,
    });
    expect(alone.info.kvPath).toBe(kvPath);
    const expected: number[][] = [];
    for (const { prompt: text, options } of cases) {
      expected.push((await collect(alone.generate({ prompt: text, raw: true, options }))).ids);
    }
    const batched = await open(dir, { maxBatch: 4, prefillChunk: 16, prefillChunkAlone: 16 }, file, {
      ortCApi,
    });
    const results: Promise<{ ids: number[] }>[] = [];
    const start = (index: number) => {
      const { prompt: text, options } = cases[index] as (typeof cases)[number];
      results[index] = collect(batched.generate({ prompt: text, raw: true, options }));
    };
    cases.forEach((entry, index) => entry.after === 0 && start(index));
    // A pacing stream: the later requests join after it has produced `after` tokens, so they
    // arrive while the others are mid-flight (and leave at their own lengths).
    let seen = 0;
    let widest = 0;
    for await (const chunk of batched.generate({
      prompt: prompt(5, 9),
      raw: true,
      options: { temperature: 0, maxTokens: 20 },
    })) {
      seen += chunk.tokenIds.length;
      widest = Math.max(widest, (await batched.stats()).batchSize);
      cases.forEach((entry, index) => {
        if (entry.after > 0 && results[index] === undefined && seen >= entry.after) start(index);
      });
    }
    cases.forEach((entry, index) => results[index] === undefined && start(index));
    const outputs = await Promise.all(results);
    outputs.forEach((output, index) => expect(output.ids).toEqual(expected[index]));
    // They really ran together: decode steps took several sequences at once.
    expect(widest).toBeGreaterThanOrEqual(3);
    expect((await batched.stats()).running).toBe(0);
  });
});

describe('dynamically quantized int8 (DynamicQuantizeMatMul)', () => {
  it('batches too, though a batch shares one activation scale per matrix product', async () => {
    // Per-tensor activation quantization makes a row's result depend on the rows beside it, as
    // with every Optimum int8 export: batched output is valid but not bit-equal to alone.
    const runner = await open(join(root, 'gqa'), { maxBatch: 4 }, 'onnx/model_quantized.onnx');
    const outputs = await Promise.all(
      cases.map(({ prompt: text, options }) =>
        collect(runner.generate({ prompt: text, raw: true, options })),
      ),
    );
    for (const output of outputs) {
      expect(output.done?.finishReason).toMatch(/^(length|stop)$/);
      expect(output.ids.length).toBeGreaterThan(0);
    }
  });
});

describe('the scheduler', () => {
  it('takes a cancelled sequence out of the batch within a step, the others go on', async () => {
    const runner = await open(join(root, 'medium'), { maxBatch: 4 });
    const controller = new AbortController();
    const long: SamplingOptions = { temperature: 0, maxTokens: 400 };
    const other = collect(runner.generate({ prompt: prompt(8, 0), raw: true, options: long }));
    let tokensAtAbort = 0;
    const stream = runner.generate(
      { prompt: prompt(6, 1), raw: true, options: long },
      { signal: controller.signal },
    );
    const chunks: GenerationChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      tokensAtAbort += chunk.tokenIds.length;
      if (tokensAtAbort === 5 && !controller.signal.aborted) controller.abort();
    }
    const cancelled = { ids: chunks.flatMap((c) => c.tokenIds), done: chunks.at(-1)?.done };
    expect(cancelled.done?.finishReason).toBe('cancelled');
    // The step in flight when the abort arrived may still count; none after it.
    expect(cancelled.done?.completionTokens).toBeLessThanOrEqual(7);
    const stats = await runner.stats();
    expect(stats.running).toBe(1);
    const rest = await other;
    expect(rest.done?.finishReason).not.toBe('cancelled');
    expect(rest.ids.length).toBeGreaterThan(cancelled.ids.length);
  });

  it('refuses at once a request whose KV cache cannot fit the budget (resource exhausted)', async () => {
    // tiny: 2 layers × 2 × 2 heads × 16 × 4 bytes = 512 bytes per token; 64 KiB hold 128 positions.
    const runner = await open(join(root, 'gqa'), { kvBudgetBytes: 64 * 1024 });
    await expect(
      collect(runner.generate({ prompt: prompt(4, 0), raw: true, options: { maxTokens: 300 } })),
    ).rejects.toMatchObject({
      code: ErrorCode.ResourceExhausted,
      message: expect.stringContaining('VMM_KV_CACHE_MB'),
    });
    const fits = await collect(
      runner.generate({ prompt: prompt(4, 0), raw: true, options: { temperature: 0, maxTokens: 40 } }),
    );
    expect(fits.done?.finishReason).toBe('length');
  });

  it.each([
    // tiny: 512 bytes per position; a request of ~107 positions takes a 128-position slot (64 KiB).
    ['one', 64 * 1024, 1],
    ['two', 128 * 1024, 2],
  ])(
    'runs %s at once when the budget holds that many, the next once one leaves',
    async (_name, budget, fitting) => {
      const runner = await open(join(root, 'gqa'), { kvBudgetBytes: budget, maxBatch: 4 });
      const options: SamplingOptions = { temperature: 0, maxTokens: 100 };
      const timed = async (text: string) => {
        const arrivals: number[] = [];
        for await (const chunk of runner.generate({ prompt: text, raw: true, options })) {
          arrivals.push(performance.now());
          if (chunk.done) return { first: arrivals[0] as number, last: performance.now(), done: chunk.done };
        }
        throw new Error('the stream ended without a last chunk');
      };
      const runs = await Promise.all(Array.from({ length: fitting + 1 }, (_, i) => timed(prompt(4, i))));
      for (const run of runs) expect(run.done.finishReason).not.toBe('cancelled');
      const first = runs.slice(0, fitting);
      const last = runs[fitting] as (typeof runs)[number];
      // Those that fit ran together: each started before any of them ended.
      for (const run of first) expect(run.first).toBeLessThan(Math.min(...first.map((r) => r.last)));
      // The one past the budget started only once one of them had left.
      expect(last.first).toBeGreaterThanOrEqual(Math.min(...first.map((r) => r.last)));
      const stats = await runner.stats();
      expect(stats.kvCacheBytes).toBeLessThanOrEqual(budget);
    },
  );

  it('continues a follow-up from a cached prefix with the same output as a fresh start', async () => {
    const dir = join(root, 'gqa');
    const cached = await open(dir);
    const fresh = await open(dir, { maxBatch: 1 });
    const options = { temperature: 0, maxTokens: 12 };
    const first = await collect(cached.generate({ prompt: prompt(60, 0), raw: true, options }));
    expect((await cached.stats()).prefixCacheHits).toBe(0);
    // The next turn starts with the first prompt (and what was generated) and adds more.
    const followUp = `${prompt(60, 0)} ${prompt(10, 5)}`;
    const again = await collect(cached.generate({ prompt: followUp, raw: true, options }));
    const stats = await cached.stats();
    expect(stats.prefixCacheHits).toBe(1);
    expect(stats.prefixCacheTokens).toBeGreaterThanOrEqual(55);
    expect(again.ids).toEqual((await collect(fresh.generate({ prompt: followUp, raw: true, options }))).ids);
    expect(first.done?.finishReason).toBe('length');
    // A prompt sharing nothing does not count as a hit.
    await collect(cached.generate({ prompt: 'kind sea', raw: true, options }));
    expect((await cached.stats()).prefixCacheHits).toBe(1);
  });

  it.each([true, false])(
    "keeps a cached prefix whole while its slot rides along in others' steps (C API %s)",
    async (ortCApi) => {
      const dir = join(root, 'gqa');
      const runner = await open(dir, { maxBatch: 4 }, 'onnx/model.onnx', { ortCApi });
      const fresh = await open(dir, { maxBatch: 1 }, 'onnx/model.onnx', { ortCApi });
      const options = (maxTokens: number) => ({ temperature: 0, maxTokens });
      // The middle one ends first: its slot keeps its prefix between two that go on decoding,
      // and every step of theirs spans it (on the shared-buffer path, writing a dummy row there).
      const [, middle] = await Promise.all([
        collect(runner.generate({ prompt: prompt(30, 1), raw: true, options: options(60) })),
        collect(runner.generate({ prompt: prompt(30, 2), raw: true, options: options(4) })),
        collect(runner.generate({ prompt: prompt(30, 3), raw: true, options: options(60) })),
      ]);
      const followUp = `${prompt(30, 2)}${middle.text} ${prompt(6, 7)}`;
      const again = await collect(runner.generate({ prompt: followUp, raw: true, options: options(12) }));
      expect((await runner.stats()).prefixCacheTokens).toBeGreaterThanOrEqual(30);
      expect(again.ids).toEqual(
        (await collect(fresh.generate({ prompt: followUp, raw: true, options: options(12) }))).ids,
      );
    },
  );
});

describe('constrained decoding in a batch', () => {
  it('keeps each sequence to its own format while others decode freely beside it', async () => {
    const runner = await open(join(root, 'gqa'), { maxBatch: 4 });
    const schema = (maxItems: number) =>
      JSON.stringify({
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 12 },
          n: { type: 'integer' },
          tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems },
        },
        required: ['name', 'n', 'tags'],
        additionalProperties: false,
      });
    const free = { prompt: prompt(20, 0), raw: true, options: { temperature: 0, maxTokens: 24 } };
    const expectedFree = (await collect(runner.generate(free))).ids;
    const constrained = [1, 2, 3, 4, 5, 6].map((i) =>
      collect(
        runner.generate({
          prompt: prompt(5 + i, i),
          raw: true,
          options: { temperature: 1, seed: i, maxTokens: 20 + 10 * i },
          format: i % 3 === 0 ? { type: 'json' } : { type: 'json_schema', schema: schema(i) },
        }),
      ),
    );
    const [freeResult, ...outputs] = await Promise.all([collect(runner.generate(free)), ...constrained]);
    expect(freeResult.ids).toEqual(expectedFree);
    outputs.forEach((output, k) => {
      const i = k + 1;
      const value = JSON.parse(output.text) as { name: string; n: number; tags: string[] };
      if (i % 3 === 0) expect(typeof value).toBe('object');
      else {
        expect(Object.keys(value)).toEqual(['name', 'n', 'tags']);
        // Characters as JSON Schema counts them: code points, not UTF-16 units.
        expect([...value.name].length).toBeLessThanOrEqual(12);
        expect(Number.isInteger(value.n)).toBe(true);
        expect(value.tags.length).toBeLessThanOrEqual(i);
      }
    });
  });
});
