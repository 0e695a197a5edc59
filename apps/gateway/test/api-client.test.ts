// The generated client (@vmm/api-client): its openapi.json is the gateway's document today, and its
// typed calls work against a real gateway and worker.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createVmmClient, type VmmClient } from '@vmm/api-client';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { startWorkerProcess, waitFor } from '@vmm/test-support';
import { pino } from 'pino';
import { createGateway, GATEWAY_VERSION, type Gateway, loadConfig, openApiDocument } from '../src/index.js';

describe('the client’s openapi.json', () => {
  it('is the gateway’s document today (run `npm run api:generate`)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../../packages/api-client/openapi.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(openApiDocument(GATEWAY_VERSION));
  });
});

describe('the client', () => {
  const models = mkdtempSync(join(tmpdir(), 'vmm-client-'));
  let worker: Awaited<ReturnType<typeof startWorkerProcess>>;
  let gateway: Gateway;
  let client: VmmClient;

  beforeAll(async () => {
    writeLlamaFolder(join(models, 'tiny-llama'));
    worker = await startWorkerProcess(models);
    gateway = createGateway(
      {
        ...loadConfig({}),
        workers: [{ backend: 'cpu', address: `127.0.0.1:${worker.port}` }],
        preference: ['cpu'],
        dashboardDir: undefined,
        redisUrl: 'redis://127.0.0.1:1',
        logLevel: 'silent',
      },
      pino({ level: 'silent' }),
    );
    const port = await gateway.listen('127.0.0.1', 0);
    client = createVmmClient({ baseUrl: `http://127.0.0.1:${port}` });
    await waitFor('the worker to answer the gateway', () => gateway.pool.ready(), { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await gateway.close();
    await worker.stop();
    rmSync(models, { recursive: true, force: true });
  });

  it('calls Ollama’s and OpenAI’s routes with typed requests and answers', async () => {
    const tags = await client.GET('/api/tags');
    expect(tags.data?.models.map((model) => model.name)).toEqual(['tiny-llama:latest']);

    const shown = await client.POST('/api/show', { body: { model: 'tiny-llama' } });
    expect(shown.data?.details.task).toBe('text-generation');

    const generated = await client.POST('/api/generate', {
      body: { model: 'tiny-llama', prompt: 'Once', stream: false, options: { num_predict: 3 } },
    });
    expect(generated.data?.eval_count).toBe(3);

    const chat = await client.POST('/v1/chat/completions', {
      body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
    });
    expect(chat.data?.choices[0]?.finish_reason).toBe('length');
    expect(chat.data?.usage.completion_tokens).toBe(2);

    const model = await client.GET('/v1/models/{model}', {
      params: { path: { model: 'tiny-llama:latest' } },
    });
    expect(model.data?.id).toBe('tiny-llama:latest');

    // Errors come typed too: Ollama's shape on /api, OpenAI's on /v1.
    const missing = await client.POST('/api/show', { body: { model: 'no-such-model' } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error).toMatch(/not found/);
    const unknown = await client.GET('/v1/models/{model}', { params: { path: { model: 'nope' } } });
    expect(unknown.error?.error.code).toBe('model_not_found');

    const refused = await client.POST('/v1/chat/completions', {
      body: {
        model: 'tiny-llama',
        messages: [],
        // @ts-expect-error -- the document says max_tokens is an integer: the types refuse a string.
        max_tokens: 'x',
      },
    });
    expect(refused.response.status).toBe(400);
  });
});
