// Graph surgery on a model's bytes (editOnnxGraph) and the graph facts it is planned from
// (readOnnxGraph: inputs with their dims, initializer dims read without their data), on a real
// fixture decoder run by ONNX Runtime.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { createModelSession, editOnnxGraph, readOnnxGraph, type TensorData } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-graph-edit-'));
const path = join(root, 'tiny', 'onnx', 'model.onnx');

beforeAll(() => {
  writeLlamaFolder(join(root, 'tiny'), { preset: 'tiny', attention: 'eager' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Logits of a 3-token prompt with an empty cache. */
async function logits(
  model: Uint8Array | string,
  extra: Record<string, TensorData> = {},
): Promise<Float32Array> {
  const session = await createModelSession(model, {
    backend: 'cpu',
    intraOpThreads: 1,
    externalDataDir: root,
  });
  try {
    const feeds: Record<string, TensorData> = {
      input_ids: { type: 'int64', dims: [1, 3], data: BigInt64Array.from([1n, 50n, 60n]) },
      attention_mask: { type: 'int64', dims: [1, 3], data: BigInt64Array.from([1n, 1n, 1n]) },
      position_ids: { type: 'int64', dims: [1, 3], data: BigInt64Array.from([0n, 1n, 2n]) },
      ...extra,
    };
    for (let layer = 0; layer < 2; layer += 1)
      for (const kind of ['key', 'value'])
        feeds[`past_key_values.${layer}.${kind}`] = {
          type: 'float32',
          dims: [1, 2, 0, 16],
          data: new Float32Array(0),
        };
    return (await session.run(feeds, ['logits'])).logits?.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('readOnnxGraph', () => {
  it('reads inputs with their dims and every initializer’s dims, not its data', () => {
    const graph = readOnnxGraph(path);
    expect(graph.inputs.find((input) => input.name === 'past_key_values.0.key')?.dims).toEqual([
      'batch_size',
      2,
      'past_sequence_length',
      16,
    ]);
    expect(graph.initializerDims.get('model.embed_tokens.weight')).toEqual([expect.any(Number), 64]);
    expect(graph.initializerDims.get('model.layers.0.input_layernorm.weight')).toEqual([64]);
  });
});

describe('editOnnxGraph', () => {
  it('leaves a model byte for byte as it was when nothing is replaced', () => {
    const bytes = readFileSync(path);
    expect(Buffer.from(editOnnxGraph(bytes, { replace: () => undefined })).equals(bytes)).toBe(true);
  });

  it('replaces nodes (attributes kept or overridden), adds inputs, and ONNX Runtime runs the result', async () => {
    const bytes = readFileSync(path);
    const expected = await logits(path);
    // Every Softmax becomes Exp → ReduceSum → Div (the same numbers), each node named apart.
    let replaced = 0;
    const rewritten = editOnnxGraph(bytes, {
      replace: (node) => {
        if (node.opType !== 'Softmax') return undefined;
        replaced += 1;
        const [input] = node.inputs as [string];
        const [output] = node.outputs as [string];
        const exp = `${output}/exp`;
        const sum = `${output}/sum`;
        const axes = `${output}/axes`;
        return [
          { name: axes, opType: 'Constant', inputs: [], outputs: [axes], int64Value: [-1] },
          { name: exp, opType: 'Exp', inputs: [input], outputs: [exp] },
          { name: sum, opType: 'ReduceSum', inputs: [exp, axes], outputs: [sum], ints: { keepdims: 1 } },
          { name: node.name, opType: 'Div', inputs: [exp, sum], outputs: [output] },
        ];
      },
      inputs: [{ name: 'unused_extra', type: 'int64', dims: ['batch_size'] }],
    });
    expect(replaced).toBe(2);
    const session = await createModelSession(rewritten, { backend: 'cpu', intraOpThreads: 1 });
    expect(session.inputs.map((input) => input.name)).toContain('unused_extra');
    await session.release();
    const got = await logits(rewritten, {
      unused_extra: { type: 'int64', dims: [1], data: BigInt64Array.from([0n]) },
    });
    let max = 0;
    for (let i = 0; i < got.length; i += 1)
      max = Math.max(max, Math.abs((got[i] as number) - (expected[i] as number)));
    expect(max).toBeLessThan(1e-4);
  });
});
