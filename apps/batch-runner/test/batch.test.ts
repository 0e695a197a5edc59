// Batches end to end on the real Redis (127.0.0.1:6379, a key prefix per test run): the API,
// BullMQ flows, the runner, cancellation, and the results.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import type { Gateway } from '@vmm/gateway';
import OpenAI, { toFile } from 'openai';
import sharp from 'sharp';
import type { BatchRunner } from '../src/index.js';
import {
  type BatchJson,
  removeDir,
  removePrefix,
  results,
  startGateway,
  startRunner,
  startWorker,
  uniquePrefix,
  waitForStatus,
  writeModels,
} from './harness.js';
import { waitFor } from '@vmm/test-support';

const modelsDir = writeModels();
const prefix = uniquePrefix();
let worker: Awaited<ReturnType<typeof startWorker>>;
let gateway: Gateway;
let url: string;
let runner: BatchRunner;

beforeAll(async () => {
  worker = await startWorker(modelsDir);
  ({ gateway, url } = await startGateway(worker.port, prefix));
  runner = await startRunner(worker.port, prefix, undefined, 2);
});
afterAll(async () => {
  await runner.close();
  await gateway.close();
  worker.child.kill('SIGTERM');
  await worker.exited;
  await removePrefix(prefix);
  removeDir(modelsDir);
});

const submit = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/jsonl', ...headers },
    body,
  });
const jsonl = (items: object[]) => items.map((item) => JSON.stringify(item)).join('\n');

describe('a mixed batch', () => {
  it('completes 63 items of every kind, each result equal to running the item directly', async () => {
    const image = (
      await sharp(drawSquares(320, 240, [{ x: 50, y: 40, size: 60, rgb: detectorColours[0]!.rgb }]).data, {
        raw: { width: 320, height: 240, channels: 3 },
      })
        .png()
        .toBuffer()
    ).toString('base64');
    const items: { custom_id: string; method: 'POST'; url: string; body: Record<string, unknown> }[] = [];
    for (let i = 0; i < 20; i += 1)
      items.push({
        custom_id: `gen-${i}`,
        method: 'POST',
        url: '/api/generate',
        body: {
          model: 'tiny-llama',
          prompt: `Story number ${i}`,
          stream: false,
          options: { temperature: 0, num_predict: 4 },
        },
      });
    for (let i = 0; i < 10; i += 1)
      items.push({
        custom_id: `chat-${i}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: {
          model: 'tiny-llama',
          messages: [{ role: 'user', content: `Question ${i}?` }],
          max_tokens: 4,
          temperature: 0,
        },
      });
    for (let i = 0; i < 10; i += 1)
      items.push({
        custom_id: `cmpl-${i}`,
        method: 'POST',
        url: '/v1/completions',
        body: { model: 'tiny-llama', prompt: `Once ${i}`, max_tokens: 3, temperature: 0 },
      });
    for (let i = 0; i < 5; i += 1)
      items.push({
        custom_id: `det-${i}`,
        method: 'POST',
        url: '/v1/vision/detect',
        body: { model: 'detector', image },
      });
    for (let i = 0; i < 5; i += 1)
      items.push({
        custom_id: `cls-${i}`,
        method: 'POST',
        url: '/v1/vision/classify',
        body: { model: 'classifier', image, top_k: 2 },
      });
    for (let i = 0; i < 3; i += 1)
      items.push({
        custom_id: `seg-${i}`,
        method: 'POST',
        url: '/v1/vision/segment',
        body: { model: 'seg', image, polygons: i % 2 === 0 },
      });
    for (let i = 0; i < 3; i += 1)
      items.push({
        custom_id: `pose-${i}`,
        method: 'POST',
        url: '/v1/vision/pose',
        body: { model: 'pose', image },
      });
    for (const output of ['cutout', 'rle'])
      items.push({
        custom_id: `cut-${output}`,
        method: 'POST',
        url: '/v1/vision/remove-background',
        body: { model: 'matting', image, output, response_format: 'b64_json' },
      });
    for (let i = 0; i < 5; i += 1)
      items.push({
        custom_id: `emb-${i}`,
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'mini-embed', input: [`the town ${i}`, 'the sea'] },
      });

    const response = await submit(jsonl(items));
    expect(response.status).toBe(200);
    const created = (await response.json()) as BatchJson;
    expect(created).toMatchObject({ status: 'in_progress', request_counts: { total: 63 } });
    const done = await waitForStatus(url, created.id, ['completed']);
    expect(done.request_counts).toEqual({ total: 63, completed: 63, failed: 0 });

    const lines = await results(url, created.id);
    expect(lines.map((line) => line.custom_id)).toEqual(items.map((item) => item.custom_id));
    const comparable = (path: string, body: Record<string, unknown>) => {
      if (path === '/api/generate')
        return { response: body.response, eval_count: body.eval_count, done_reason: body.done_reason };
      if (path.startsWith('/v1/chat') || path === '/v1/completions')
        return { choices: body.choices, usage: body.usage };
      if (path === '/v1/vision/detect') return { detections: body.detections };
      if (path === '/v1/vision/segment') return { segments: body.segments };
      if (path === '/v1/vision/pose') return { poses: body.poses, skeleton: body.skeleton };
      if (path === '/v1/vision/remove-background')
        return { b64_png: body.b64_png, mask: body.mask, foreground: body.foreground };
      if (path === '/v1/embeddings') return { data: body.data, usage: body.usage };
      return { classes: body.classes };
    };
    for (const [index, item] of items.entries()) {
      const direct = await fetch(`${url}${item.url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(item.body),
      });
      const line = lines[index]!;
      expect(line.response?.status_code).toBe(direct.status);
      expect(comparable(item.url, line.response!.body)).toEqual(
        comparable(item.url, (await direct.json()) as Record<string, unknown>),
      );
    }
  });
});

describe('the batch API', () => {
  const ok = {
    method: 'POST',
    url: '/api/generate',
    body: { model: 'tiny-llama', prompt: 'x', stream: false, options: { num_predict: 1 } },
  };

  it.each([
    [
      'a malformed JSONL line',
      `${JSON.stringify({ custom_id: 'a', ...ok })}\n{not json`,
      /line 2: not valid JSON/,
    ],
    [
      'an unknown url',
      jsonl([{ custom_id: 'a', ...ok, url: '/v1/responses' }]),
      /line 1: url "\/v1\/responses" is not one of/,
    ],
    ['a missing custom_id', jsonl([{ custom_id: 'a', ...ok }, ok]), /line 2: custom_id/],
    [
      'a duplicated custom_id',
      jsonl([
        { custom_id: 'a', ...ok },
        { custom_id: 'b', ...ok },
        { custom_id: 'a', ...ok },
      ]),
      /line 3: custom_id "a" repeats line 1/,
    ],
    [
      'a body its route refuses',
      jsonl([{ custom_id: 'a', ...ok, body: { prompt: 'no model' } }]),
      /line 1: body.model/,
    ],
    [
      'a streaming item',
      jsonl([{ custom_id: 'a', ...ok, body: { ...ok.body, stream: true } }]),
      /line 1: body.stream/,
    ],
    [
      'too many items',
      jsonl(Array.from({ length: 101 }, (_, i) => ({ custom_id: `i${i}`, ...ok }))),
      /101 requests; the limit is 100/,
    ],
    ['an empty batch', '', /no requests/],
  ])('refuses %s with 400 naming the line', async (_name, body, message) => {
    const response = await submit(body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(message);
  });

  it('takes JSON {requests: [...]} as well', async () => {
    const response = await fetch(`${url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ custom_id: 'only', ...ok }] }),
    });
    expect(response.status).toBe(200);
    const batch = (await response.json()) as BatchJson;
    expect((await waitForStatus(url, batch.id, ['completed'])).request_counts.completed).toBe(1);
  });

  it('returns the same batch for a repeated Idempotency-Key', async () => {
    const body = jsonl([{ custom_id: 'a', ...ok }]);
    const first = (await (await submit(body, { 'idempotency-key': `k-${prefix}` })).json()) as BatchJson;
    const second = (await (await submit(body, { 'idempotency-key': `k-${prefix}` })).json()) as BatchJson;
    expect(second.id).toBe(first.id);
  });

  it('lists batches newest first, page by page, and 404s an unknown one', async () => {
    const page = (await (await fetch(`${url}/v1/batches?limit=2`)).json()) as {
      data: BatchJson[];
      has_more: boolean;
      last_id: string;
    };
    expect(page.data).toHaveLength(2);
    expect(page.has_more).toBe(true);
    const next = (await (await fetch(`${url}/v1/batches?limit=2&after=${page.last_id}`)).json()) as {
      data: BatchJson[];
    };
    expect(next.data[0]?.id).not.toBe(page.data[1]?.id);
    expect((await fetch(`${url}/v1/batches/batch_nope`)).status).toBe(404);
    expect((await fetch(`${url}/v1/batches?limit=0`)).status).toBe(400);
  });

  it('cancels mid-batch: running items finish, queued ones never run, the batch ends cancelled', async () => {
    const items = Array.from({ length: 12 }, (_, i) => ({
      custom_id: `slow-${i}`,
      method: 'POST',
      url: '/api/generate',
      body: {
        model: 'heavy-llama',
        prompt: 'Once upon a time',
        stream: false,
        options: { num_predict: 150, temperature: 0 },
      },
    }));
    const batch = (await (await submit(jsonl(items))).json()) as BatchJson;
    // Wait until the runner has started on it.
    await waitFor(
      'the runner to start on the batch',
      async () => {
        await gateway.pool.pollAll();
        return gateway.pool.states().some((state) => (state.info?.running ?? 0) > 0);
      },
      { timeoutMs: 20_000 },
    );
    const cancelling = (await (
      await fetch(`${url}/v1/batches/${batch.id}/cancel`, { method: 'POST' })
    ).json()) as BatchJson;
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const ended = await waitForStatus(url, batch.id, ['cancelled']);
    const lines = await results(url, batch.id);
    const ran = lines.filter((line) => line.response !== null);
    const skipped = lines.filter((line) => line.error?.code === 'batch_cancelled');
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran.length).toBeLessThanOrEqual(4);
    expect(ran.length + skipped.length).toBe(12);
    expect(ended.request_counts.completed).toBe(ran.length);
    expect((await fetch(`${url}/v1/batches/${batch.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('exposes queue depths per queue and state in /metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const state of ['waiting', 'active', 'completed', 'failed']) {
      expect(text).toContain(`vmm_batch_jobs{queue="batch-items",state="${state}"}`);
    }
    expect(text).toMatch(/vmm_batch_jobs\{queue="batch-items",state="completed"\} [1-9]/);
  });
});

describe('the official openai client’s files and batches flow', () => {
  it('uploads a file, makes a batch of it, and reads the output and error files', async () => {
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const lines = [
      {
        custom_id: 'good',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
      },
      {
        custom_id: 'bad',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] },
      },
    ];
    const file = await openai.files.create({
      file: await toFile(Buffer.from(jsonl(lines)), 'requests.jsonl'),
      purpose: 'batch',
    });
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'requests.jsonl',
      status: 'processed',
    });
    expect((await openai.files.retrieve(file.id)).bytes).toBe(Buffer.byteLength(jsonl(lines)));
    expect((await openai.files.list({ purpose: 'batch' })).data.map((listed) => listed.id)).toContain(
      file.id,
    );

    const created = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { run: 'test' },
    });
    expect(created).toMatchObject({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      metadata: { run: 'test' },
    });
    const done = await waitFor(
      'the batch to complete',
      async () => {
        const batch = await openai.batches.retrieve(created.id);
        return batch.status === 'completed' ? batch : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const output = (await (await openai.files.content(done.output_file_id ?? '')).text()).trim().split('\n');
    expect(output.map((line) => JSON.parse(line) as { custom_id: string })).toEqual([
      expect.objectContaining({ custom_id: 'good', response: expect.objectContaining({ status_code: 200 }) }),
    ]);
    const errors = (await (await openai.files.content(done.error_file_id ?? '')).text()).trim().split('\n');
    expect(JSON.parse(errors[0] ?? '{}')).toMatchObject({ custom_id: 'bad' });
    expect((await openai.files.retrieve(done.output_file_id ?? '')).purpose).toBe('batch_output');

    // A file for another endpoint than the batch's, and a missing file, are refused.
    await expect(
      openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      openai.batches.create({
        input_file_id: 'file-missing',
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 404 });
    expect(await openai.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
    await expect(openai.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(
      openai.files.create({ file: await toFile(Buffer.from('x'), 'x.jsonl'), purpose: 'fine-tune' }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
