// An independent engine on the same weights: llama.cpp (the engine inside Ollama, through
// node-llama-cpp's prebuilt CPU build) runs the fixture's GGUF copy, VMM's LlmRunner its ONNX
// file. Equal greedy continuations are the strongest evidence that the Llama math, RoPE, GQA
// and the KV cache loop are right on both sides.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ggufFileName, writeLlamaFolder } from '@vmm/model-fixtures';
import { type LlamaCppPeer, openLlamaCpp } from '@vmm/test-support';
import { type GenerationChunk, LlmRunner, LlmTokenizer } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-llama-cpp-'));
const dir = join(root, 'tiny-llama');
const TOKENS = 32;
let runner: LlmRunner;
let peer: LlamaCppPeer;
let tokenizer: LlmTokenizer;

beforeAll(async () => {
  writeLlamaFolder(dir, { preset: 'tiny', seed: 11, gguf: ['f32'] });
  tokenizer = LlmTokenizer.load(dir);
  runner = await LlmRunner.open({
    dir,
    file: 'onnx/model.onnx',
    session: { backend: 'cpu', intraOpThreads: 1 },
  });
  peer = await openLlamaCpp({
    modelPath: join(dir, ggufFileName('f32')),
    threads: 1,
    contextSize: 512,
    exactKvCache: true,
  });
});

afterAll(async () => {
  await runner?.close();
  await peer?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Plain greedy decoding: no repetition penalty (Ollama's default 1.1 is VMM's too). */
async function vmmGreedy(prompt: string): Promise<{ promptTokens: number; ids: number[] }> {
  const chunks: GenerationChunk[] = [];
  for await (const chunk of runner.generate({
    prompt,
    raw: true,
    options: { temperature: 0, repetitionPenalty: 1, maxTokens: TOKENS },
  })) {
    chunks.push(chunk);
  }
  return {
    promptTokens: chunks.at(-1)?.done?.promptTokens ?? 0,
    ids: chunks.flatMap((chunk) => chunk.tokenIds),
  };
}

const longPrompt = Array.from(
  { length: 12 },
  (_, i) =>
    `Day ${i + 1}: the fishermen went out to sea in the morning and came home with their boats in the evening.`,
).join(' ');

describe('VMM and llama.cpp on the same weights', () => {
  it.each([
    ['a short prompt', 'Once upon a time'],
    ['a sentence', 'The people of the town were kind, and they worked hard every day.'],
    ['a prompt of over 200 tokens', longPrompt],
  ])('greedy continuations of %s are equal token for token', async (_, prompt) => {
    const ids = tokenizer.encode(prompt, true);
    if (prompt === longPrompt) expect(ids.length).toBeGreaterThan(200);
    const ours = await vmmGreedy(prompt);
    expect(ours.promptTokens).toBe(ids.length);
    const [theirs] = await peer.generate([ids], TOKENS);
    expect(ours.ids).toHaveLength(TOKENS);
    expect(ours.ids).toEqual(theirs?.tokens);
  });

  it('several sequences batched in llama.cpp give what VMM gives for each alone', async () => {
    const prompts = ['Once upon a time', 'In the morning', 'The boats came home'];
    const many = await openLlamaCpp({
      modelPath: join(dir, ggufFileName('f32')),
      threads: 1,
      contextSize: 512,
      sequences: prompts.length,
      exactKvCache: true,
    });
    try {
      const batched = await many.generate(
        prompts.map((prompt) => tokenizer.encode(prompt, true)),
        16,
      );
      for (const [i, prompt] of prompts.entries()) {
        const ours = await vmmGreedy(prompt);
        expect(batched[i]?.tokens).toHaveLength(16);
        expect(ours.ids.slice(0, 16)).toEqual(batched[i]?.tokens);
      }
    } finally {
      await many.close();
    }
  });
});
