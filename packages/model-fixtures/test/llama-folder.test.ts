import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type LlamaFolder, writeLlamaFolder } from '../src/index.js';
import { type Feeds, forwardFeeds, logitsOf, maxAbsDifference, randomPrompt } from './ort-llama.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-llama-'));
let folder: LlamaFolder;
let noPositions: LlamaFolder;
const sessions: Record<string, ort.InferenceSession> = {};

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}

beforeAll(async () => {
  folder = writeLlamaFolder(join(root, 'tiny'), { variants: ['fp32', 'fp16', 'merged'], seed: 7 });
  noPositions = writeLlamaFolder(join(root, 'tiny-no-pos'), { variants: ['no-position-ids'], seed: 7 });
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 };
  sessions.fp32 = await ort.InferenceSession.create(join(folder.dir, 'onnx/model.onnx'), options);
  sessions.fp16 = await ort.InferenceSession.create(join(folder.dir, 'onnx/model_fp16.onnx'), options);
  sessions.merged = await ort.InferenceSession.create(
    join(folder.dir, 'onnx/decoder_model_merged.onnx'),
    options,
  );
  sessions.noPositions = await ort.InferenceSession.create(join(noPositions.dir, 'onnx/model.onnx'), options);
});

afterAll(async () => {
  for (const session of Object.values(sessions)) await session.release();
  rmSync(root, { recursive: true, force: true });
});

const ones = (length: number) => Array.from({ length }, () => 1);

describe('writeLlamaFolder', () => {
  it('writes the Optimum layout', () => {
    expect(listFiles(folder.dir)).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/decoder_model_merged.onnx',
      'onnx/model.onnx',
      'onnx/model_fp16.onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(readFileSync(join(folder.dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'llama',
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      hidden_size: 64,
      vocab_size: folder.vocabSize,
      bos_token_id: 1,
      eos_token_id: 2,
    });
    expect(statSync(join(folder.dir, 'onnx/model.onnx')).size).toBeLessThan(8 * 1024 * 1024);
  });

  it('gives byte-identical folders for the same seed, and different weights for another', () => {
    const again = writeLlamaFolder(join(root, 'again'), { variants: ['fp32', 'fp16', 'merged'], seed: 7 });
    const other = writeLlamaFolder(join(root, 'other'), { variants: ['fp32'], seed: 8 });
    for (const file of listFiles(folder.dir)) {
      expect(readFileSync(join(again.dir, file)).equals(readFileSync(join(folder.dir, file)))).toBe(true);
    }
    const model = 'onnx/model.onnx';
    expect(readFileSync(join(other.dir, model)).equals(readFileSync(join(folder.dir, model)))).toBe(false);
    expect(relative(root, again.dir)).toBe('again');
  });

  it('has the I/O names, types and dynamic axes Optimum exports', () => {
    const session = sessions.fp32 as ort.InferenceSession;
    const pastNames = [0, 1].flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]);
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', ...pastNames]);
    expect(session.outputNames).toEqual([
      'logits',
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
    ]);
    expect(sessions.merged?.inputNames).toEqual([...session.inputNames, 'use_cache_branch']);
    expect(sessions.noPositions?.inputNames).toEqual(['input_ids', 'attention_mask', ...pastNames]);
  });

  it('writes weights as external data (model.onnx_data) that loads and computes the same', async () => {
    const external = writeLlamaFolder(join(root, 'external'), { seed: 7, externalData: true });
    expect(listFiles(external.dir)).toContain('onnx/model.onnx_data');
    expect(statSync(join(external.dir, 'onnx/model.onnx')).size).toBeLessThan(64 * 1024);
    const session = await ort.InferenceSession.create(join(external.dir, 'onnx/model.onnx'));
    const prompt = randomPrompt(folder, 5, 6);
    const feeds = forwardFeeds(folder, { ids: [prompt], mask: [ones(6)] });
    const [a, b] = [await session.run(feeds), await (sessions.fp32 as ort.InferenceSession).run(feeds)];
    await session.release();
    expect(maxAbsDifference(logitsOf(a), logitsOf(b))).toBe(0);
  });

  it('refuses to write fp32 and no-position-ids into one folder', () => {
    expect(() => writeLlamaFolder(join(root, 'clash'), { variants: ['fp32', 'no-position-ids'] })).toThrow(
      /different folders/,
    );
  });
});

describe('the tiny Llama decoder', () => {
  it('gives the same logits for a full forward pass and token-by-token through the cache', async () => {
    const session = sessions.fp32 as ort.InferenceSession;
    const prompt = randomPrompt(folder, 1, 12);
    const full = logitsOf(
      await session.run(forwardFeeds(folder, { ids: [prompt], mask: [ones(prompt.length)] })),
    );

    // A prefill of 5 tokens, then one token at a time with the presents fed back as past.
    let past: Feeds | undefined;
    let position = 0;
    const incremental: number[] = [];
    for (const chunk of [prompt.slice(0, 5), ...prompt.slice(5).map((token) => [token])]) {
      position += chunk.length;
      past = await session.run(
        forwardFeeds(folder, { ids: [chunk], mask: [ones(position)], ...(past ? { past } : {}) }),
      );
      incremental.push(...logitsOf(past));
    }
    expect(past?.['present.0.key']?.dims).toEqual([1, 2, 12, 16]);
    expect(maxAbsDifference(incremental, full)).toBeLessThan(1e-4);
  });

  it('keeps each batch row independent of the others: left padding with eager attention', async () => {
    const session = sessions.merged as ort.InferenceSession;
    const long = randomPrompt(folder, 2, 9);
    const short = randomPrompt(folder, 3, 6);
    const alone = async (prompt: number[]) =>
      logitsOf(
        await session.run(
          forwardFeeds(folder, { ids: [prompt], mask: [ones(prompt.length)], useCacheBranch: false }),
        ),
      );
    const batched = logitsOf(
      await session.run(
        forwardFeeds(folder, {
          ids: [long, [0, 0, 0, ...short]],
          mask: [ones(9), [0, 0, 0, ...ones(6)]],
          useCacheBranch: false,
        }),
      ),
    );
    const vocab = folder.vocabSize;
    const rowLength = 9 * vocab;
    expect(maxAbsDifference(batched.subarray(0, rowLength), await alone(long))).toBeLessThan(1e-4);
    // The padded row's real positions equal the short prompt run alone.
    expect(
      maxAbsDifference(batched.subarray(rowLength + 3 * vocab, 2 * rowLength), await alone(short)),
    ).toBeLessThan(1e-4);
  });

  it('keeps each batch row independent of the others: right padding with GroupQueryAttention', async () => {
    const session = sessions.fp32 as ort.InferenceSession;
    const long = randomPrompt(folder, 2, 9);
    const short = randomPrompt(folder, 3, 6);
    const alone = async (prompt: number[]) =>
      logitsOf(await session.run(forwardFeeds(folder, { ids: [prompt], mask: [ones(prompt.length)] })));
    const feeds = forwardFeeds(folder, {
      ids: [long, [...short, 0, 0, 0]],
      mask: [ones(9), [...ones(6), 0, 0, 0]],
    });
    // GroupQueryAttention takes a sequence's length from its mask: padding comes last.
    feeds.position_ids = new ort.Tensor(
      'int64',
      BigInt64Array.from([...long.keys(), ...short.keys(), 6, 7, 8].map(BigInt)),
      [2, 9],
    );
    const batched = logitsOf(await session.run(feeds));
    const vocab = folder.vocabSize;
    const rowLength = 9 * vocab;
    expect(maxAbsDifference(batched.subarray(0, rowLength), await alone(long))).toBeLessThan(1e-4);
    expect(
      maxAbsDifference(batched.subarray(rowLength, rowLength + 6 * vocab), await alone(short)),
    ).toBeLessThan(1e-4);
  });

  it('agrees across the fp32, merged, fp16 and no-position-ids variants, with and without cache', async () => {
    const prompt = randomPrompt(folder, 4, 8);
    const mask = [ones(prompt.length)];
    const run = async (name: string, extra: Partial<Parameters<typeof forwardFeeds>[1]>, past?: Feeds) =>
      (sessions[name] as ort.InferenceSession).run(
        forwardFeeds(folder, {
          ids: [prompt.slice(0, 6)],
          mask: [ones(6)],
          ...extra,
          ...(past ? { past } : {}),
        }),
      );
    const next = async (name: string, extra: Partial<Parameters<typeof forwardFeeds>[1]>, past: Feeds) =>
      logitsOf(
        await (sessions[name] as ort.InferenceSession).run(
          forwardFeeds(folder, { ids: [prompt.slice(6, 8)], mask, past, ...extra }),
        ),
      );

    const fp32First = await run('fp32', {});
    const fp32Next = await next('fp32', {}, fp32First);
    const mergedFirst = await run('merged', { useCacheBranch: false });
    const mergedNext = await next('merged', { useCacheBranch: true }, mergedFirst);
    const fp16First = await run('fp16', { kvType: 'float16' });
    const fp16Next = await next('fp16', { kvType: 'float16' }, fp16First);
    const noPosFirst = await run('noPositions', { positionIds: false });
    const noPosNext = await next('noPositions', { positionIds: false }, noPosFirst);

    expect(maxAbsDifference(logitsOf(mergedFirst), logitsOf(fp32First))).toBeLessThan(1e-5);
    expect(maxAbsDifference(mergedNext, fp32Next)).toBeLessThan(1e-5);
    expect(maxAbsDifference(logitsOf(noPosFirst), logitsOf(fp32First))).toBeLessThan(1e-5);
    expect(maxAbsDifference(noPosNext, fp32Next)).toBeLessThan(1e-5);
    expect(fp16First['present.0.key']?.type).toBe('float16');
    expect(fp16First.logits?.type).toBe('float16');
    // fp16 rounds weights, cache and logits (|logits| reach ~10, where a half step is ~0.008).
    expect(maxAbsDifference(logitsOf(fp16First), logitsOf(fp32First))).toBeLessThan(0.05);
    expect(maxAbsDifference(fp16Next, fp32Next)).toBeLessThan(0.05);
  });
});
