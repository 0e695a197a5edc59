// Ollama's model management through the official ollama client: pull (from a fake Hugging Face
// Hub), create, copy, delete, blobs; one loaded copy per model whatever its spelling; error shapes.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { repoFromFolder, startFakeHub, waitFor, type FakeHub } from '@vmm/test-support';
import { Ollama } from 'ollama';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

let hub: FakeHub;
const source = mkdtempSync(join(tmpdir(), 'vmm-hub-repo-'));
beforeAll(async () => {
  writeLlamaFolder(join(source, 'llama'));
  hub = await startFakeHub({ 'vmm-test/tiny-llama-onnx': repoFromFolder(join(source, 'llama')) });
});
const workers = useWorkers(() => ({ HF_ENDPOINT: hub.url }));
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));
let ollama: Ollama;
beforeAll(() => {
  ollama = new Ollama({ host: gateway.url });
});
afterAll(async () => {
  await hub.close();
  rmSync(source, { recursive: true, force: true });
});

const post = (path: string, body: unknown, method = 'POST') =>
  fetch(`${gateway.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const loadedNames = async () => (await ollama.ps()).models.map((model) => model.name);

describe('names and tags', () => {
  it('serves tiny-llama and tiny-llama:latest as one model, loaded once, listed with its tag', async () => {
    for (const model of ['tiny-llama', 'tiny-llama:latest'])
      await ollama.generate({ model, prompt: 'hi', options: { num_predict: 1 } });
    expect((await loadedNames()).filter((name) => name.startsWith('tiny-llama'))).toEqual([
      'tiny-llama:latest',
    ]);
    const tags = (await ollama.list()).models.map((model) => model.name);
    expect(tags).toContain('tiny-llama:latest');
    expect((await ollama.show({ model: 'tiny-llama:latest' })).details.format).toBe('onnx');
    const byId = await fetch(`${gateway.url}/v1/models/tiny-llama:latest`);
    expect(((await byId.json()) as { id: string }).id).toBe('tiny-llama:latest');
  });

  it('answers GET / as Ollama does, and says plainly that it pushes nowhere', async () => {
    expect(await (await fetch(`${gateway.url}/`)).text()).toBe('VMM is running');
    const push = await post('/api/push', { model: 'tiny-llama' });
    expect(push.status).toBe(501);
    expect(((await push.json()) as { error: string }).error).toMatch(
      /pushing models to a registry is not supported/,
    );
  });
});

describe('pull from the Hugging Face Hub', () => {
  it('streams progress in Ollama’s shape, then serves the model under its hf.co name', async () => {
    const lines = [];
    for await (const line of await ollama.pull({ model: 'hf.co/vmm-test/tiny-llama-onnx', stream: true }))
      lines.push(line);
    expect(lines[0]?.status).toBe('pulling manifest');
    expect(lines.at(-1)?.status).toBe('success');
    const files = lines.filter((line) => line.digest);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const line of files) {
      expect(line.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(line.status).toBe(`pulling ${line.digest.slice(7, 19)}`);
    }
    const graph = files.filter((line) => line.total > 100_000).at(-1);
    expect(graph?.completed).toBe(graph?.total);
    // Listed at once, and it generates.
    expect((await ollama.list()).models.map((model) => model.name)).toContain(
      'hf.co/vmm-test/tiny-llama-onnx:latest',
    );
    const answer = await ollama.generate({
      model: 'hf.co/vmm-test/tiny-llama-onnx',
      prompt: 'Once',
      options: { num_predict: 3, temperature: 0 },
    });
    expect(answer.eval_count).toBe(3);
  });

  it('says what is wrong with a name it cannot pull', async () => {
    await expect(ollama.pull({ model: 'hf.co/vmm-test/missing' })).rejects.toMatchObject({
      status_code: 404,
    });
    const local = await post('/api/pull', { model: 'no-such-model', stream: false });
    expect(local.status).toBe(404);
    expect(((await local.json()) as { error: string }).error).toMatch(/pull hf\.co\/ORG\/REPO/);
  });
});

describe('create, copy, delete', () => {
  it('creates a model from another with a system prompt and parameters, sharing its weights', async () => {
    const done = await ollama.create({
      model: 'terse',
      from: 'tiny-llama',
      system: 'Answer in one word.',
      parameters: { num_predict: 2, temperature: 0 },
    });
    expect(done.status).toBe('success');
    const shown = await ollama.show({ model: 'terse' });
    expect(shown.system).toBe('Answer in one word.');
    expect(shown.parameters).toMatch(/num_predict\s+2/);
    expect(shown.modelfile).toMatch(/^FROM tiny-llama:latest$/m);
    expect(shown.modelfile).toMatch(/^SYSTEM "Answer in one word\."$/m);
    // The model's num_predict applies unless the request sets its own.
    expect((await ollama.generate({ model: 'terse', prompt: 'Hello' })).eval_count).toBe(2);
    expect(
      (await ollama.generate({ model: 'terse', prompt: 'Hello', options: { num_predict: 4 } })).eval_count,
    ).toBe(4);
    // A model of its own: its own digest, dated when it was made, the base's weights.
    const models = (await ollama.list()).models;
    const [terse, base] = ['terse:latest', 'tiny-llama:latest'].map((name) =>
      models.find((model) => model.name === name),
    );
    expect(terse?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(terse?.digest).not.toBe(base?.digest);
    expect(new Date(terse?.modified_at ?? 0).getTime()).toBeGreaterThan(
      new Date(base?.modified_at ?? 0).getTime(),
    );
  });

  it('reads a Modelfile', async () => {
    const response = await post('/api/create', {
      model: 'from-modelfile',
      modelfile: 'FROM tiny-llama\nPARAMETER num_predict 1\nSYSTEM """Be brief."""\nLICENSE MIT',
      stream: false,
    });
    expect(response.status).toBe(200);
    const shown = await ollama.show({ model: 'from-modelfile' });
    expect(shown).toMatchObject({ system: 'Be brief.', license: 'MIT' });
    const bad = await post('/api/create', { model: 'x', modelfile: 'FROM tiny-llama\nPARAMETER mirostat 1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /line 2: parameter mirostat is not supported/,
    );
  });

  it('copies and deletes, and refuses to delete a model while it generates', async () => {
    await ollama.copy({ source: 'terse', destination: 'terse-copy' });
    expect((await ollama.list()).models.map((model) => model.name)).toEqual(
      expect.arrayContaining(['terse:latest', 'terse-copy:latest']),
    );
    expect((await ollama.show({ model: 'terse-copy' })).system).toBe('Answer in one word.');
    // A copy is the same model under a second name, as in Ollama: the same digest.
    const listed = (await ollama.list()).models;
    expect(listed.find((model) => model.name === 'terse-copy:latest')?.digest).toBe(
      listed.find((model) => model.name === 'terse:latest')?.digest,
    );

    // A long generation holds the model: delete answers 409 until it ends.
    const controller = new AbortController();
    const stream = fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'terse-copy', prompt: 'Go', options: { num_predict: 100_000 } }),
      signal: controller.signal,
    });
    const reader = (await stream).body?.getReader();
    await reader?.read();
    const busy = await post('/api/delete', { model: 'terse-copy' }, 'DELETE');
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: string }).error).toMatch(/in use/);
    // Replacing it is refused alike, by copy and by create.
    for (const replace of [
      post('/api/copy', { source: 'mini-embed', destination: 'terse-copy' }),
      post('/api/create', { model: 'terse-copy', from: 'tiny-llama', system: 'x', stream: false }),
    ]) {
      const answer = await replace;
      expect([answer.status, ((await answer.json()) as { error: string }).error]).toEqual([
        409,
        expect.stringMatching(/"terse-copy:latest" is in use .*; replace it when they have ended/),
      ]);
    }
    controller.abort();
    await waitFor(
      'the generation to end',
      async () => (await post('/api/delete', { model: 'terse-copy' }, 'DELETE')).ok,
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );
    expect((await ollama.list()).models.map((model) => model.name)).not.toContain('terse-copy:latest');
    await expect(ollama.delete({ model: 'terse-copy' })).rejects.toMatchObject({ status_code: 404 });
    // The original keeps the shared weights.
    expect((await ollama.generate({ model: 'terse', prompt: 'Hi' })).eval_count).toBe(2);
  });

  it('refuses a model whose vmm.json names a file outside its folder (no file read leaks)', async () => {
    const secret = join(source, 'secret.txt');
    writeFileSync(secret, 'root:x:0:0\n');
    for (const labels of [
      '../../../../../../../../../../etc/passwd',
      secret,
      '../../../../../../../../../..' + secret,
    ]) {
      const bytes = Buffer.from(
        JSON.stringify({ task: 'image-classification', model: 'model.onnx', labels }),
      );
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      expect((await fetch(`${gateway.url}/api/blobs/${digest}`, { method: 'POST', body: bytes })).ok).toBe(
        true,
      );
      const created = await post('/api/create', {
        model: 'leaky',
        from: 'classifier',
        files: { 'vmm.json': digest },
        stream: false,
      });
      expect(created.status).toBe(400);
      expect(((await created.json()) as { error: string }).error).toMatch(
        /vmm\.json labels .* (leads out of|is not a relative path)/,
      );
      expect((await post('/api/show', { model: 'leaky' })).status).toBe(404);
    }
  });

  it('stores blobs by digest and creates a model from them', async () => {
    const bytes = Buffer.from('{"model_type":"llama"}');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    expect((await fetch(`${gateway.url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
    const wrong = await fetch(`${gateway.url}/api/blobs/sha256:${'0'.repeat(64)}`, {
      method: 'POST',
      body: bytes,
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/digest mismatch/);
    expect((await fetch(`${gateway.url}/api/blobs/${digest}`, { method: 'POST', body: bytes })).status).toBe(
      201,
    );
    expect((await fetch(`${gateway.url}/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/blobs/not-a-digest`, { method: 'HEAD' })).status).toBe(400);
    // config.json from the blob, the rest from tiny-llama.
    const created = await post('/api/create', {
      model: 'from-blobs',
      from: 'tiny-llama',
      files: { 'config.json': digest },
      stream: false,
    });
    expect(created.status).toBe(200);
    const missing = await post('/api/create', {
      model: 'no-blobs',
      files: { 'config.json': `sha256:${'1'.repeat(64)}` },
      stream: false,
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toMatch(/upload it first/);
  });
});

describe('error shapes', () => {
  it.each([
    ['GET', '/v1/nope', 404, 'openai', 'unknown_url'],
    ['GET', '/v1/models/no-such-model', 404, 'openai', 'model_not_found'],
    ['POST', '/v1/vision/detect', 400, 'openai', 'invalid_argument'],
    ['GET', '/v1/batches/batch_missing', 404, 'openai', undefined],
    ['GET', '/api/nope', 404, 'ollama', undefined],
    ['POST', '/api/show', 404, 'ollama', undefined],
  ])('%s %s → %i in %s’s shape', async (method, path, status, shape, code) => {
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST'
        ? { body: JSON.stringify(path === '/api/show' ? { model: 'no-such-model' } : {}) }
        : {}),
    });
    // Batches answer 503 where no Redis is configured for them; the shape is what is checked.
    if (!path.startsWith('/v1/batches')) expect(response.status).toBe(status);
    const body = (await response.json()) as { error: unknown };
    if (shape === 'ollama') expect(typeof body.error).toBe('string');
    else {
      expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
      if (code) expect((body.error as { code: string }).code).toBe(code);
      expect((body.error as { message: string }).message).not.toMatch(/\b(Classify|Detect)\b(?!\w)/);
    }
  });
});
