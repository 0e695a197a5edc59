// EmbeddingRunner on real fixture folders, checked against transformers.js's feature-extraction
// pipeline on the same files: same tokens, same pooling, same vectors within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { ErrorCode } from '@vmm/errors';
import { writeBertFolder } from '@vmm/model-fixtures';
import { EmbeddingRunner } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-embed-'));
const session = { backend: 'cpu' as const, intraOpThreads: 1 };
const runners: EmbeddingRunner[] = [];

async function open(name: string): Promise<EmbeddingRunner> {
  const runner = await EmbeddingRunner.open({
    dir: join(root, name),
    file: 'onnx/model.onnx',
    session,
    maxBatch: 4,
  });
  runners.push(runner);
  return runner;
}

beforeAll(() => {
  writeBertFolder(join(root, 'mean'), { maxSeqLength: 32 });
  writeBertFolder(join(root, 'cls'), { pooling: 'cls', seed: 9 });
  env.allowRemoteModels = false;
  env.localModelPath = root;
  env.useFSCache = false;
});

afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.close()));
  rmSync(root, { recursive: true, force: true });
});

const TEXTS = [
  'The people of the town were kind.',
  'A model server loads machine learning models and answers requests over the network.',
  'Snow',
  'In the spring the snow melted, the rivers grew wide, and the fields turned green again!',
  'Lily and Tom read the stories all afternoon.',
  'Café déjà vu — 東京',
];

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let most = 0;
  for (let i = 0; i < a.length; i += 1) most = Math.max(most, Math.abs((a[i] as number) - (b[i] as number)));
  return most;
}

describe('embeddings', () => {
  it.each([
    ['mean', 'mean'],
    ['cls', 'cls'],
  ] as const)('equal transformers.js feature-extraction (%s pooling) within 1e-4', async (name, pooling) => {
    const runner = await open(name);
    expect(runner.spec.pooling).toBe(pooling);
    const ours = await runner.embed(TEXTS);
    const extractor = await pipeline('feature-extraction', name, { local_files_only: true });
    const theirs = await extractor(TEXTS.slice(0, name === 'mean' ? TEXTS.length : 3), {
      pooling,
      normalize: true,
    });
    const width = theirs.dims[1] as number;
    expect(ours.embeddings[0]).toHaveLength(width);
    for (let i = 0; i < (theirs.dims[0] as number); i += 1) {
      const row = (theirs.data as Float32Array).subarray(i * width, (i + 1) * width);
      expect(maxDifference(ours.embeddings[i] as Float32Array, row)).toBeLessThan(1e-4);
    }
    // Unit length: the folders' modules.json ends in Normalize.
    const norm = Math.hypot(...(ours.embeddings[1] as Float32Array));
    expect(Math.abs(norm - 1)).toBeLessThan(1e-5);
  });

  it('gives each input the same vector alone or in a padded batch', async () => {
    const runner = await open('mean');
    const batch = await runner.embed(TEXTS);
    for (const [i, text] of TEXTS.entries()) {
      const alone = await runner.embed([text]);
      expect(
        maxDifference(alone.embeddings[0] as Float32Array, batch.embeddings[i] as Float32Array),
      ).toBeLessThan(1e-5);
    }
  });

  it('truncates to the model’s maximum, or refuses when told not to', async () => {
    const runner = await open('mean');
    const long = 'the town by the sea '.repeat(40);
    const cut = await runner.embed([long]);
    expect(cut.promptTokens).toBe(32);
    await expect(runner.embed(['short', long], { truncate: false })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field: 'input[1]',
    });
  });

  it('takes token ids, and wraps them as a text’s', async () => {
    const runner = await open('mean');
    const text = await runner.embed(['the town']);
    const tokenizer = await AutoTokenizer.from_pretrained('mean');
    const ids = tokenizer.encode('the town', { add_special_tokens: false });
    const byIds = await runner.embed([ids]);
    expect(byIds.promptTokens).toBe(text.promptTokens);
    expect(
      maxDifference(byIds.embeddings[0] as Float32Array, text.embeddings[0] as Float32Array),
    ).toBeLessThan(1e-6);
    await expect(runner.embed([[999_999]])).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('shortens to `dimensions` and renormalises', async () => {
    const runner = await open('mean');
    const full = await runner.embed(['the town']);
    const short = await runner.embed(['the town'], { dimensions: 16 });
    const vector = short.embeddings[0] as Float32Array;
    expect(vector).toHaveLength(16);
    expect(Math.abs(Math.hypot(...vector) - 1)).toBeLessThan(1e-5);
    const head = (full.embeddings[0] as Float32Array).slice(0, 16);
    const scale = Math.hypot(...head);
    expect(
      maxDifference(
        vector,
        head.map((v) => v / scale),
      ),
    ).toBeLessThan(1e-5);
    await expect(runner.embed(['x'], { dimensions: 65 })).rejects.toMatchObject({ field: 'dimensions' });
  });
});
