// The GGUF copies of a Llama fixture, read back by an independent reader (@huggingface/gguf)
// and run by llama.cpp (node-llama-cpp's prebuilt CPU build): the same model as the ONNX file,
// so llama.cpp and ONNX Runtime must agree on its logits.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gguf } from '@huggingface/gguf';
import { openLlamaCpp } from '@vmm/test-support';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ggufFileName, type LlamaFolder, llamaGgufTypes, writeLlamaFolder } from '../src/index.js';
import { forwardFeeds, logitsOf, maxAbsDifference, randomPrompt } from './ort-llama.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-gguf-'));
let folder: LlamaFolder;

beforeAll(() => {
  folder = writeLlamaFolder(join(root, 'tiny'), { seed: 3, gguf: [...llamaGgufTypes] });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const path = (type: (typeof llamaGgufTypes)[number]) => join(folder.dir, ggufFileName(type));

/** log-softmax of the ONNX model's last-position logits (full forward with onnxruntime-node). */
async function onnxLogProbs(prompt: number[]): Promise<Float64Array> {
  const session = await ort.InferenceSession.create(join(folder.dir, 'onnx/model.onnx'), {
    intraOpNumThreads: 1,
  });
  try {
    const logits = logitsOf(
      await session.run(forwardFeeds(folder, { ids: [prompt], mask: [prompt.map(() => 1)] })),
    );
    const last = logits.subarray((prompt.length - 1) * folder.vocabSize, prompt.length * folder.vocabSize);
    const max = Math.max(...last);
    const logSum = max + Math.log(last.reduce((sum, value) => sum + Math.exp(value - max), 0));
    return Float64Array.from(last, (value) => value - logSum);
  } finally {
    await session.release();
  }
}

describe('GGUF copies of a Llama fixture', () => {
  it.each(llamaGgufTypes)(
    '%s: metadata, vocabulary and tensors read back with @huggingface/gguf',
    async (type) => {
      const parsed = await gguf(path(type), { allowLocalFile: true });
      // Looked up by key as llama.cpp does; the reader's types know only the keys it expects.
      const metadata = parsed.metadata as unknown as Record<string, unknown>;
      const { tensorInfos } = parsed;
      const { shape } = folder;
      expect(metadata.version).toBe(3);
      expect(metadata['general.architecture']).toBe('llama');
      expect(metadata['general.file_type']).toBe({ f32: 0, f16: 1, q4_0: 2, q8_0: 7 }[type]);
      expect(metadata['llama.block_count']).toBe(shape.numLayers);
      expect(metadata['llama.embedding_length']).toBe(shape.hiddenSize);
      expect(metadata['llama.feed_forward_length']).toBe(shape.intermediateSize);
      expect(metadata['llama.attention.head_count']).toBe(shape.numHeads);
      expect(metadata['llama.attention.head_count_kv']).toBe(shape.numKvHeads);
      expect(metadata['llama.rope.dimension_count']).toBe(shape.hiddenSize / shape.numHeads);
      expect(metadata['llama.context_length']).toBe(shape.maxPositions);
      expect(metadata['tokenizer.ggml.model']).toBe('llama');
      // The vocabulary is the tokenizer.json's, id for id.
      const vocab = (
        JSON.parse(readFileSync(join(folder.dir, 'tokenizer.json'), 'utf8')) as {
          model: { vocab: Record<string, number> };
        }
      ).model.vocab;
      const tokens = metadata['tokenizer.ggml.tokens'] as string[];
      expect(tokens).toHaveLength(folder.vocabSize);
      expect(Object.fromEntries(tokens.map((token, id) => [token, id]))).toEqual(vocab);
      expect(metadata['tokenizer.ggml.bos_token_id']).toBe(1);
      expect(metadata['tokenizer.ggml.eos_token_id']).toBe(2);

      expect(tensorInfos).toHaveLength(3 + 9 * shape.numLayers);
      const byName = new Map(tensorInfos.map((info) => [info.name, info]));
      const q = byName.get('blk.0.attn_q.weight');
      expect(q?.shape.map(Number)).toEqual([shape.hiddenSize, shape.hiddenSize]);
      expect(byName.get('blk.1.attn_k.weight')?.shape.map(Number)).toEqual([
        shape.hiddenSize,
        (shape.hiddenSize / shape.numHeads) * shape.numKvHeads,
      ]);
      expect(byName.get('output.weight')?.shape.map(Number)).toEqual([shape.hiddenSize, folder.vocabSize]);
      // ggml type ids: f32 0, f16 1, q4_0 2, q8_0 8. Norms stay f32; rows of 172 values (the
      // tiny preset's ffn_down) cannot hold whole quantization blocks and fall back to f16.
      const typeId = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 }[type];
      expect(q?.dtype).toBe(typeId);
      expect(byName.get('blk.0.attn_norm.weight')?.dtype).toBe(0);
      expect(byName.get('blk.0.ffn_down.weight')?.dtype).toBe(type === 'f32' ? 0 : 1);
    },
  );

  it('llama.cpp tokenizes text exactly as the folder’s tokenizer.json does', async () => {
    const { AutoTokenizer } = await import('@huggingface/transformers');
    const tokenizer = await AutoTokenizer.from_pretrained(folder.dir, { local_files_only: true });
    const peer = await openLlamaCpp({ modelPath: path('f32'), threads: 1, contextSize: 64 });
    try {
      for (const text of [
        'Once upon a time there was a little town by the sea.',
        'The fishermen went out to sea, and in the evening they came home.',
        'Zebra 42 ünïcödé ✓ tabs\tand\nnewlines',
      ]) {
        expect([1, ...(await peer.tokenize(text))]).toEqual(tokenizer.encode(text));
      }
    } finally {
      await peer.close();
    }
  });

  it('llama.cpp on the f32 GGUF gives the ONNX model’s next-token distribution within 1e-3', async () => {
    const peer = await openLlamaCpp({
      modelPath: path('f32'),
      threads: 1,
      contextSize: 128,
      exactKvCache: true,
    });
    try {
      for (const seed of [1, 2, 3]) {
        const prompt = randomPrompt(folder, seed, 9 + 20 * seed);
        const difference = maxAbsDifference(await peer.nextLogProbs(prompt), await onnxLogProbs(prompt));
        expect(difference).toBeLessThan(1e-3);
      }
    } finally {
      await peer.close();
    }
  });

  it.each([
    ['f16', 0.05],
    ['q8_0', 0.5],
    ['q4_0', 3],
  ] as const)(
    'llama.cpp loads the %s file and its log-probabilities follow f32’s (max difference < %s)',
    async (type, bound) => {
      const prompt = randomPrompt(folder, 9, 24);
      const reference = await openLlamaCpp({
        modelPath: path('f32'),
        threads: 1,
        contextSize: 64,
        exactKvCache: true,
      });
      const quantized = await openLlamaCpp({
        modelPath: path(type),
        threads: 1,
        contextSize: 64,
        exactKvCache: true,
      });
      try {
        const exact = await reference.nextLogProbs(prompt);
        const approximate = await quantized.nextLogProbs(prompt);
        expect(maxAbsDifference(exact, approximate)).toBeLessThan(bound);
        // A wrongly packed block would leave nothing of the distribution: it must still correlate.
        expect(correlation(exact, approximate)).toBeGreaterThan(type === 'q4_0' ? 0.9 : 0.99);
      } finally {
        await reference.close();
        await quantized.close();
      }
    },
  );
});

function correlation(a: Float64Array, b: Float64Array): number {
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((value, i) => {
    const da = value - ma;
    const db = (b[i] ?? 0) - mb;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  });
  return ab / Math.sqrt(aa * bb);
}
