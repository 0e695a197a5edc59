// LlmRunner end to end on real fixture folders: the session in its own thread, the KV-cache
// loop, sampling, streaming, cancellation; greedy output checked against transformers.js.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import { ErrorCode } from '@vmm/errors';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { type GenerationChunk, LlmRunner, type SamplingOptions } from '../src/index.js';
import { collect } from './collect.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-llm-'));
const tiny = join(root, 'tiny-llama');
const session = { backend: 'cpu' as const, intraOpThreads: 1 };
const runners: LlmRunner[] = [];
let fp32: LlmRunner;

async function open(dir: string, file = 'onnx/model.onnx'): Promise<LlmRunner> {
  const runner = await LlmRunner.open({ dir, file, session });
  runners.push(runner);
  return runner;
}

beforeAll(async () => {
  writeLlamaFolder(tiny, { variants: ['fp32', 'fp16', 'merged'] });
  writeLlamaFolder(join(root, 'no-position-ids'), { variants: ['no-position-ids'] });
  env.allowRemoteModels = false;
  env.localModelPath = root;
  env.useFSCache = false;
  fp32 = await open(tiny);
});

afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  rmSync(root, { recursive: true, force: true });
});

const greedy = (extra: SamplingOptions = {}): SamplingOptions => ({ temperature: 0, ...extra });
const PROMPT = 'The people of the town were';

describe('greedy generation', () => {
  it.each([
    ['onnx/model.onnx', {}],
    ['onnx/model_fp16.onnx', { dtype: 'fp16' as const }],
    ['onnx/decoder_model_merged.onnx', { model_file_name: 'decoder_model_merged' }],
  ])('equals transformers.js token for token (%s)', async (file, options) => {
    const runner = file === 'onnx/model.onnx' ? fp32 : await open(tiny, file);
    const ours = await collect(
      runner.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 24 }) }),
    );

    const tokenizer = await AutoTokenizer.from_pretrained('tiny-llama');
    const model = await AutoModelForCausalLM.from_pretrained('tiny-llama', {
      local_files_only: true,
      ...options,
    });
    const inputs = tokenizer(PROMPT);
    const output = (await model.generate({ ...inputs, max_new_tokens: 24, do_sample: false })) as {
      tolist(): bigint[][];
    };
    await model.dispose();
    const prompt = tokenizer.encode(PROMPT);
    const theirs = (output.tolist()[0] ?? []).map(Number).slice(prompt.length);

    expect(ours.ids).toEqual(theirs.filter((id) => id !== 2));
    expect(ours.done?.promptTokens).toBe(prompt.length);
    // The streamed text is the continuation: what decoding prompt + completion adds to the prompt.
    const decode = (ids: number[]) => tokenizer.decode(ids, { skip_special_tokens: true });
    expect(ours.text).toBe(decode([...prompt, ...theirs]).slice(decode(prompt).length));
  });

  it('reports logprobs equal to the log-softmax of the model’s logits (transformers.js)', async () => {
    const chunks: GenerationChunk[] = [];
    for await (const chunk of fp32.generate({
      prompt: PROMPT,
      raw: true,
      options: greedy({ maxTokens: 3, repetitionPenalty: 1, logprobs: true, topLogprobs: 5 }),
    }))
      chunks.push(chunk);
    const reported = chunks.flatMap((chunk) => chunk.logprobs ?? []);
    expect(reported).toHaveLength(3);
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-llama');
    const model = await AutoModelForCausalLM.from_pretrained('tiny-llama', { local_files_only: true });
    const { Tensor } = await import('@huggingface/transformers');
    const ids = tokenizer.encode(PROMPT);
    for (const entry of reported) {
      // A full forward pass over everything so far: the last position's logits, log-softmaxed.
      const length = ids.length;
      const output = (await model({
        input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, length]),
        attention_mask: new Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
      })) as { logits: { data: Float32Array; dims: number[] } };
      const vocab = output.logits.dims[2] as number;
      const row = output.logits.data.subarray((length - 1) * vocab, length * vocab);
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
      const expected = [...row.keys()].sort((a, b) => (row[b] as number) - (row[a] as number)).slice(0, 5);
      expect(entry.tokenId).toBe(expected[0]);
      expect(entry.logprob).toBeCloseTo((row[entry.tokenId] as number) - logZ, 4);
      expect(entry.top.map((top) => top.tokenId)).toEqual(expected);
      entry.top.forEach((top) => expect(top.logprob).toBeCloseTo((row[top.tokenId] as number) - logZ, 4));
      expect(entry.bytes.length).toBeGreaterThan(0);
      ids.push(entry.tokenId);
    }
    await model.dispose();
  });

  it('gives the same tokens for a model without position_ids', async () => {
    const runner = await open(join(root, 'no-position-ids'));
    const request = { prompt: PROMPT, raw: true, options: greedy({ maxTokens: 16 }) };
    expect((await collect(runner.generate(request))).ids).toEqual(
      (await collect(fp32.generate(request))).ids,
    );
  });

  it('applies the chat template to chat messages, as transformers.js does', async () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'What is the capital of France?' },
    ];
    const ours = await collect(fp32.chat({ messages, options: greedy({ maxTokens: 12 }) }));
    const tokenizer = await AutoTokenizer.from_pretrained('tiny-llama');
    const inputIds = tokenizer.apply_chat_template(messages, {
      add_generation_prompt: true,
      tokenize: true,
      return_dict: false,
      return_tensor: false,
    }) as number[];
    expect(ours.done?.promptTokens).toBe(inputIds.length);
    const model = await AutoModelForCausalLM.from_pretrained('tiny-llama', { local_files_only: true });
    const { Tensor } = await import('@huggingface/transformers');
    const input = new Tensor('int64', BigInt64Array.from(inputIds.map(BigInt)), [1, inputIds.length]);
    const output = (await model.generate({ inputs: input, max_new_tokens: 12, do_sample: false })) as {
      tolist(): bigint[][];
    };
    await model.dispose();
    expect(ours.ids).toEqual(
      (output.tolist()[0] ?? [])
        .map(Number)
        .slice(inputIds.length)
        .filter((id) => id !== 2),
    );
  });

  it('wraps a plain prompt (and system prompt) in the chat template unless raw', async () => {
    const templated = await collect(
      fp32.generate({ prompt: 'Hi', system: 'Be brief.', options: greedy({ maxTokens: 3 }) }),
    );
    const chat = await collect(
      fp32.chat({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        options: greedy({ maxTokens: 3 }),
      }),
    );
    expect(templated.ids).toEqual(chat.ids);
    expect(templated.done?.promptTokens).toBe(chat.done?.promptTokens);
  });
});

describe('sampling', () => {
  const sampled = (seed: number) =>
    collect(
      fp32.generate({
        prompt: PROMPT,
        raw: true,
        options: { temperature: 1, topK: 0, topP: 1, seed, maxTokens: 24 },
      }),
    );

  it('gives the same text for the same seed and different text for different seeds', async () => {
    const [a, b, c] = [await sampled(1), await sampled(1), await sampled(2)];
    expect(a.ids).toEqual(b.ids);
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
  });
});

describe('ending generation', () => {
  it('stops at max_tokens with finish reason length', async () => {
    const result = await collect(
      fp32.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 5 }) }),
    );
    expect(result.ids).toHaveLength(5);
    expect(result.done).toMatchObject({ finishReason: 'length', completionTokens: 5 });
    expect(result.chunks.filter((chunk) => chunk.done)).toHaveLength(1);
  });

  it('stops before a stop sequence that spans tokens, never emitting it', async () => {
    const full = await collect(
      fp32.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 30 }) }),
    );
    // A stop that starts inside one token's text and ends inside the next one's.
    const pieces = full.chunks.filter((chunk) => !chunk.done).map((chunk) => chunk.text);
    const boundary = pieces.slice(0, 6).join('').length;
    const stop = full.text.slice(boundary - 2, boundary + 2);
    const stopped = await collect(
      fp32.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 30, stop: [stop] }) }),
    );
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(stopped.text.includes(stop)).toBe(false);
    expect(stopped.done).toMatchObject({ finishReason: 'stop', stopSequence: stop });
  });

  it('stops at an EOS token the generation config names, without emitting it', async () => {
    const full = await collect(
      fp32.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 6 }) }),
    );
    const eosDir = join(root, 'eos');
    cpSync(tiny, eosDir, { recursive: true });
    const third = full.ids[2] as number;
    writeFileSync(
      join(eosDir, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 1, eos_token_id: [2, third] }),
    );
    const runner = await open(eosDir);
    const result = await collect(
      runner.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 6 }) }),
    );
    expect(result.ids).toEqual(full.ids.slice(0, 2));
    expect(result.done).toMatchObject({ finishReason: 'stop', completionTokens: 3 });
  });

  it('stops with length when the context window fills', async () => {
    const prompt = 'the people of the town';
    const result = await collect(fp32.generate({ prompt, raw: true, options: greedy({ contextSize: 10 }) }));
    expect(result.done?.finishReason).toBe('length');
    expect((result.done?.promptTokens ?? 0) + (result.done?.completionTokens ?? 0)).toBe(10);
  });

  it('reports token counts and timings in nanoseconds', async () => {
    const result = await collect(
      fp32.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 4 }) }, { loadNs: 1234 }),
    );
    const timings = result.done?.timings;
    expect(timings?.loadNs).toBe(1234);
    expect(timings?.promptEvalNs).toBeGreaterThan(0);
    expect(timings?.evalNs).toBeGreaterThan(0);
    expect(timings?.totalNs).toBeGreaterThanOrEqual((timings?.promptEvalNs ?? 0) + (timings?.evalNs ?? 0));
  });
});

describe('bad requests', () => {
  it.each([
    ['an empty prompt', { prompt: '' }, 'prompt'],
    ['a prompt longer than the context window', { prompt: 'the town '.repeat(400), raw: true }, 'prompt'],
    [
      'a prompt longer than context_size',
      { prompt: 'the people of the town', raw: true, options: { contextSize: 4 } },
      'prompt',
    ],
    ['a negative temperature', { prompt: 'x', options: { temperature: -1 } }, 'options.temperature'],
    ['top_p of 0', { prompt: 'x', options: { topP: 0 } }, 'options.top_p'],
    ['a fractional top_k', { prompt: 'x', options: { topK: 1.5 } }, 'options.top_k'],
    ['max_tokens of 0', { prompt: 'x', options: { maxTokens: 0 } }, 'options.max_tokens'],
    ['an empty stop sequence', { prompt: 'x', options: { stop: [''] } }, 'options.stop'],
  ])('refuses %s with INVALID_ARGUMENT naming %s, before generating', async (_name, request, field) => {
    const chunks: GenerationChunk[] = [];
    const failure = await (async () => {
      for await (const chunk of fp32.generate(request)) chunks.push(chunk);
    })().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: ErrorCode.InvalidArgument, field });
    expect(chunks).toEqual([]);
  });

  it.each([
    ['no messages', [], 'messages'],
    ['an unknown role', [{ role: 'wizard', content: 'x' }], 'messages[0].role'],
  ])('refuses a chat with %s', async (_name, messages, field) => {
    await expect(collect(fp32.chat({ messages: messages as never }))).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field,
    });
  });

  // Tokenizing 4 MB takes the model's thread tens of seconds, uninterruptibly: these are refused
  // on their size alone, which the message shows (a tokenized prompt is judged in tokens).
  it.each([
    ['a 4 MB prompt', { prompt: 'the town '.repeat(466_034), raw: true }, 'prompt'],
    ['a 4 MB templated prompt', { prompt: 'x'.repeat(4 << 20) }, 'prompt'],
    ['a 4 MB system prompt', { prompt: 'x', system: 'x'.repeat(4 << 20) }, 'prompt'],
  ])('refuses %s by its size, without tokenizing it', async (_name, request, field) => {
    await expect(collect(fp32.generate(request))).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field,
      message: expect.stringMatching(/bytes; a context window of \d+ tokens cannot hold more than \d+ bytes/),
    });
  });

  it.each([
    [
      'messages of 4 MB together',
      Array.from({ length: 4 }, () => ({ role: 'user', content: 'x'.repeat(1 << 20) })),
      /cannot hold more than/,
    ],
    [
      'more messages than the context has tokens',
      Array.from({ length: 100_000 }, () => ({ role: 'user', content: '' })),
      /100000 messages cannot fit a context window/,
    ],
  ])('refuses a chat of %s before rendering it', async (_name, messages, message) => {
    await expect(collect(fp32.chat({ messages: messages as never }))).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field: 'messages',
      message: expect.stringMatching(message),
    });
  });

  it('fails to open a folder whose model file is not a model', async () => {
    const broken = join(root, 'broken');
    cpSync(tiny, broken, { recursive: true });
    writeFileSync(join(broken, 'onnx', 'model.onnx'), 'not a model');
    await expect(LlmRunner.open({ dir: broken, file: 'onnx/model.onnx', session })).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
    });
  });
});

describe('off the main thread', () => {
  let heavy: LlmRunner;
  beforeAll(async () => {
    // Large enough that each step blocks its thread for milliseconds.
    const dir = join(root, 'heavy');
    writeLlamaFolder(dir, { preset: 'medium' });
    heavy = await open(dir);
  });

  it('keeps a 10 ms interval firing while a long generation runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 10);
    const started = performance.now();
    const result = await collect(
      heavy.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 300 }) }),
    );
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(result.done?.completionTokens).toBe(300);
    // A blocked event loop would fire almost never; a free one about elapsed / 10 times.
    expect(elapsed).toBeGreaterThan(200);
    expect(ticks).toBeGreaterThan((elapsed / 10) * 0.5);
  });

  it('ends with "cancelled" and no further tokens when aborted after 3 tokens', async () => {
    const controller = new AbortController();
    const chunks: GenerationChunk[] = [];
    for await (const chunk of heavy.generate(
      { prompt: PROMPT, raw: true, options: greedy({ maxTokens: 500 }) },
      { signal: controller.signal },
    )) {
      chunks.push(chunk);
      if (chunks.length === 3) controller.abort();
    }
    expect(chunks).toHaveLength(4);
    expect(chunks[3]).toMatchObject({ text: '', tokenIds: [], done: { finishReason: 'cancelled' } });
    expect(chunks[3]?.done?.completionTokens).toBeLessThan(3 + 40);
    // The runner serves the next request normally.
    const next = await collect(
      heavy.generate({ prompt: PROMPT, raw: true, options: greedy({ maxTokens: 2 }) }),
    );
    expect(next.done?.finishReason).toBe('length');
  });
  it("reports the model thread's own V8 heap, not the caller's", async () => {
    const heap = await heavy.threadHeap();
    // Jest runs without --expose-gc: the reading is taken as the heap stands.
    expect(heap.collected).toBe(false);
    expect(heap.usedBytes).toBeGreaterThan(0);
    expect(heap.totalBytes).toBeGreaterThanOrEqual(heap.usedBytes);
    // Filling the caller's heap moves the caller's figure, not the thread's.
    const before = heap.usedBytes;
    const ballast = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `ballast ${i}` }));
    const after = await heavy.threadHeap();
    expect(ballast).toHaveLength(200_000);
    expect(Math.abs(after.usedBytes - before)).toBeLessThan(4 * 2 ** 20);
    expect(process.memoryUsage().heapUsed).toBeGreaterThan(after.usedBytes);
  });
});
