// Sessions on ONNX Runtime's C API with I/O binding (createBoundSession), against
// onnxruntime-node's own session on the same fixture decoder: the same results, a cache that
// GroupQueryAttention appends to in place when past and present are bound to one buffer, and
// clear errors for what cannot be bound.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import {
  type BoundSession,
  boundSessionsUnavailable,
  createBoundSession,
  createModelSession,
  type ModelSession,
  type TensorData,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-bound-session-'));
const path = join(root, 'tiny', 'onnx', 'model.onnx');
const options = { backend: 'cpu' as const, intraOpThreads: 1 };
let bound: BoundSession;
let plain: ModelSession;
let layers = 0;
let heads = 0;
let headDim = 0;

beforeAll(async () => {
  writeLlamaFolder(join(root, 'tiny'), { preset: 'tiny' });
  const opened = await createBoundSession(path, options);
  if (!opened) throw new Error(`no bound session: ${boundSessionsUnavailable(options)}`);
  bound = opened;
  plain = await createModelSession(path, options);
  const past = plain.inputs.find((input) => input.name === 'past_key_values.0.key');
  layers = plain.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name)).length;
  heads = Number(past?.shape[1]);
  headDim = Number(past?.shape[3]);
});

afterAll(async () => {
  await bound?.release();
  await plain?.release();
  rmSync(root, { recursive: true, force: true });
});

const ints = (values: number[], dims: number[]): TensorData => ({
  type: 'int64',
  dims,
  data: BigInt64Array.from(values, BigInt),
});

/** Feeds for `tokens` after an empty cache, as onnxruntime-node's session takes them. */
function freshFeeds(tokens: number[]): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {
    input_ids: ints(tokens, [1, tokens.length]),
    attention_mask: ints(
      tokens.map(() => 1),
      [1, tokens.length],
    ),
    position_ids: ints(
      tokens.map((_, i) => i),
      [1, tokens.length],
    ),
  };
  for (let layer = 0; layer < layers; layer += 1) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${layer}.${kind}`] = {
        type: 'float32',
        dims: [1, heads, 0, headDim],
        data: new Float32Array(0),
      };
    }
  }
  return feeds;
}

function lastRow(logits: TensorData | undefined): Float32Array {
  if (!logits) throw new Error('no logits');
  const vocab = logits.dims[2] ?? 0;
  const data = logits.data as Float32Array;
  return data.slice(data.length - vocab);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i += 1) most = Math.max(most, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return most;
}

describe('createBoundSession', () => {
  it('reads the same inputs and outputs as onnxruntime-node', () => {
    expect(bound.inputs).toEqual(plain.inputs);
    expect(bound.outputs.map((output) => output.name)).toEqual(plain.outputs.map((output) => output.name));
    expect(bound.outputs.find((output) => output.name === 'logits')?.shape[2]).toBe(
      plain.outputs.find((output) => output.name === 'logits')?.shape[2],
    );
  });

  it('gives the same results as onnxruntime-node for the same feeds', async () => {
    const feeds = freshFeeds([5, 17, 42, 8]);
    const names = ['logits', 'present.0.key', `present.${layers - 1}.value`];
    const ours = await bound.run(feeds, names);
    const theirs = await plain.run(feeds, names);
    for (const name of names) {
      expect(ours[name]?.dims).toEqual(theirs[name]?.dims);
      expect(maxDifference(ours[name]?.data as Float32Array, theirs[name]?.data as Float32Array)).toBe(0);
    }
  });

  it('appends to a cache in place when past and present share one buffer', async () => {
    const capacity = 16;
    const prompt = [5, 17, 42];
    const next = 8;
    const caches = Array.from({ length: layers * 2 }, () => {
      const memory = bound.allocate(heads * capacity * headDim * 4);
      const view = new Float32Array(memory.data);
      view.fill(Number.NaN); // nothing past a row's length may be read
      return {
        memory,
        tensor: { type: 'float32' as const, dims: [1, heads, capacity, headDim], data: view },
      };
    });
    const vocab = Number(bound.outputs.find((output) => output.name === 'logits')?.shape[2]);
    const logitsMemory = bound.allocate(prompt.length * vocab * 4);
    const step = async (tokens: number[], past: number): Promise<Float32Array> => {
      const mask = new Array<number>(capacity).fill(0).map((_, i) => (i < past + tokens.length ? 1 : 0));
      const inputs: Record<string, TensorData> = {
        input_ids: ints(tokens, [1, tokens.length]),
        attention_mask: ints(mask, [1, capacity]),
        position_ids: ints(
          tokens.map((_, i) => past + i),
          [1, tokens.length],
        ),
      };
      const outputs: Record<string, TensorData> = {
        logits: {
          type: 'float32',
          dims: [1, tokens.length, vocab],
          data: new Float32Array(logitsMemory.data, 0, tokens.length * vocab),
        },
      };
      caches.forEach((cache, i) => {
        const name = `${Math.floor(i / 2)}.${i % 2 === 0 ? 'key' : 'value'}`;
        inputs[`past_key_values.${name}`] = cache.tensor;
        outputs[`present.${name}`] = cache.tensor;
      });
      await bound.runBound(inputs, outputs);
      return lastRow(outputs.logits);
    };
    try {
      await step(prompt, 0);
      // The prompt's rows were written where the cache is: the key at position 0 matches.
      const reference = await plain.run(freshFeeds(prompt), ['present.0.key']);
      const firstKey = (reference['present.0.key']?.data as Float32Array).subarray(0, headDim);
      expect(maxDifference(caches[0]?.tensor.data.slice(0, headDim) as Float32Array, firstKey)).toBeLessThan(
        1e-6,
      );
      const decoded = await step([next], prompt.length);
      const whole = lastRow((await plain.run(freshFeeds([...prompt, next]), ['logits'])).logits);
      expect(maxDifference(decoded, whole)).toBeLessThan(1e-4);
    } finally {
      for (const cache of caches) cache.memory.release();
      logitsMemory.release();
    }
  });

  it('refuses what it cannot bind with a clear error', async () => {
    const feeds = freshFeeds([5]);
    await expect(bound.run({ ...feeds, no_such_input: ints([1], [1]) }, ['logits'])).rejects.toThrow(
      /no_such_input/,
    );
    await expect(
      bound.run({ ...feeds, input_ids: { type: 'int64', dims: [1, 2], data: new BigInt64Array(1) } }, [
        'logits',
      ]),
    ).rejects.toThrow(RangeError);
    // An output in JavaScript's heap: ONNX Runtime could not write it where the caller reads.
    await expect(
      bound.runBound(feeds, { logits: { type: 'float32', dims: [1, 1, 1], data: new Float32Array(1) } }),
    ).rejects.toThrow(/allocate/);
    // The session stays usable after each refusal.
    expect((await bound.run(feeds, ['logits'])).logits?.dims[1]).toBe(1);
  });

  it('is not offered where it does not apply', async () => {
    expect(boundSessionsUnavailable({ backend: 'openvino' })).toMatch(/cpu backend/);
    expect(boundSessionsUnavailable({ backend: 'cpu', ortCApi: false })).toMatch(/turned off/);
    expect(await createBoundSession(path, { backend: 'cpu', ortCApi: false })).toBeUndefined();
    await expect(createBoundSession(join(root, 'missing.onnx'), options)).rejects.toThrow(
      /cannot load the model file/,
    );
  });

  it('refuses runs once released', async () => {
    const session = await createBoundSession(path, options);
    await session?.release();
    await expect(session?.run(freshFeeds([5]), ['logits'])).rejects.toThrow(/released/);
  });
});
