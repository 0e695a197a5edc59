// Quantized variants through the worker: a tag picks the ONNX file (tiny-llama:q4 runs
// onnx/model_q4.onnx), Models.List lists one tag per variant with its quantization level, and
// WorkerInfo reports each loaded text model's batching and KV cache.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { Backend, type GenerateChunk, type ListModelsResponse, Task } from '@vmm/proto';
import { baseConfig, type Running, startWorker } from './worker-harness.js';

const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-worker-variants-'));
let w: Running;

beforeAll(async () => {
  writeLlamaFolder(join(modelsDir, 'tiny-llama'), { variants: ['fp32', 'fp16', 'int8', 'q4'] });
  w = await startWorker(baseConfig(modelsDir));
});
afterAll(async () => {
  await w.close();
  rmSync(modelsDir, { recursive: true, force: true });
});

async function generate(model: string): Promise<GenerateChunk[]> {
  const chunks: GenerateChunk[] = [];
  const stream = w.inference.generate({
    model,
    prompt: 'the people of the town',
    raw: true,
    images: [],
    system: undefined,
    options: { stop: [], temperature: 0, maxTokens: 8 },
    context: { requestId: `variants-${model}`, backend: Backend.BACKEND_UNSPECIFIED },
  });
  for await (const chunk of stream) chunks.push(chunk as GenerateChunk);
  return chunks;
}

describe('variant tags', () => {
  it('lists one tag per variant with its quantization level', async () => {
    const listed = await new Promise<ListModelsResponse>((resolve, reject) =>
      w.models.list({ task: Task.TASK_UNSPECIFIED }, (error, value) =>
        error ? reject(error) : resolve(value as ListModelsResponse),
      ),
    );
    expect(listed.models.map((model) => [model.name, model.details?.quantizationLevel])).toEqual([
      ['tiny-llama:latest', 'F32'],
      ['tiny-llama:fp16', 'F16'],
      ['tiny-llama:q8', 'Q8'],
      ['tiny-llama:q4', 'Q4'],
    ]);
    // Each variant's size is its own weights and the shared files, not the whole folder.
    const onnx = (file: string) => statSync(join(modelsDir, 'tiny-llama', 'onnx', file)).size;
    const size = (name: string) => listed.models.find((model) => model.name === name)?.sizeBytes ?? 0;
    expect(size('tiny-llama:latest') - size('tiny-llama:q4')).toBe(
      onnx('model.onnx') - onnx('model_q4.onnx'),
    );
    expect(size('tiny-llama:fp16') - size('tiny-llama:q8')).toBe(
      onnx('model_fp16.onnx') - onnx('model_quantized.onnx'),
    );
    expect(size('tiny-llama:q4')).toBeLessThan(onnx('model_q4.onnx') * 1.5);
  });

  it('runs the file a tag names, as a model of its own', async () => {
    const [plain, q4] = [await generate('tiny-llama'), await generate('tiny-llama:q4')];
    expect(plain.at(-1)?.done?.usage?.completionTokens).toBeGreaterThan(0);
    expect(q4.at(-1)?.done?.usage?.completionTokens).toBeGreaterThan(0);
    const loaded = (await w.workerInfo()).loadedModels;
    expect(loaded.map((model) => model.model?.name).sort()).toEqual(['tiny-llama:latest', 'tiny-llama:q4']);
    const q4State = loaded.find((model) => model.model?.name === 'tiny-llama:q4');
    expect(q4State?.model?.details?.quantizationLevel).toBe('Q4');
    expect(q4State?.batching).toMatchObject({ runningSequences: 0, kvCacheBudgetBytes: 256 * 2 ** 20 });
  });

  it('says which variants exist when a tag names none', async () => {
    await expect(generate('tiny-llama:q4f16')).rejects.toMatchObject({
      details: expect.stringContaining('"tiny-llama" has no q4f16 variant'),
    });
  });
});
