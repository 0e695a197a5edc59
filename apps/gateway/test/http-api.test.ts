// The HTTP surface: malformed requests in every route's error shape, vision uploads, auth,
// metrics, the OpenAPI document.
import { describe, expect, it } from '@jest/globals';
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers), { maxBodyBytes: 1024 * 1024 }));
const secured = useGateway(() => gatewayConfig(cpuWorkers(workers), { apiKeys: ['key-one', 'key-two'] }));

const png = (squares: Parameters<typeof drawSquares>[2] = []) =>
  sharp(drawSquares(320, 240, squares).data, { raw: { width: 320, height: 240, channels: 3 } })
    .png()
    .toBuffer();

type Shape = 'ollama' | 'openai' | 'vmm';
interface Case {
  name: string;
  path: string;
  body?: unknown;
  raw?: string | FormData;
  headers?: Record<string, string>;
  method?: string;
  status: number;
  shape: Shape;
}

const gen = (body: unknown, status = 400, name?: string): Case => ({
  name: name ?? JSON.stringify(body),
  path: '/api/generate',
  body,
  status,
  shape: 'ollama',
});
const chat = (body: unknown, status = 400, name?: string): Case => ({
  name: name ?? JSON.stringify(body),
  path: '/api/chat',
  body,
  status,
  shape: 'ollama',
});
const oaChat = (body: unknown, status = 400, name?: string): Case => ({
  name: name ?? JSON.stringify(body),
  path: '/v1/chat/completions',
  body,
  status,
  shape: 'openai',
});
const oaCompletion = (body: unknown, status = 400): Case => ({
  name: JSON.stringify(body),
  path: '/v1/completions',
  body,
  status,
  shape: 'openai',
});
const detect = (body: unknown, status = 400, name?: string): Case => ({
  name: name ?? JSON.stringify(body),
  path: '/v1/vision/detect',
  body,
  status,
  shape: 'vmm',
});
const user = [{ role: 'user', content: 'hi' }];
const b64 = (text: string) => Buffer.from(text).toString('base64');

const malformed: Case[] = [
  { name: 'generate: invalid JSON', path: '/api/generate', raw: '{bad', status: 400, shape: 'ollama' },
  gen([], 400, 'generate: an array body'),
  gen({}, 400, 'generate: no model'),
  gen({ model: 7, prompt: 'x' }),
  gen({ model: 'tiny-llama', prompt: 7 }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { temperature: 'hot' } }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { temperature: -1 } }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { top_p: 2 } }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { num_predict: -5 } }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { stop: '\n' } }),
  gen({ model: 'tiny-llama', prompt: 'x', options: { num_ctx: 0 } }),
  gen({ model: 'tiny-llama', prompt: 'x', keep_alive: 'forever' }),
  gen({ model: 'tiny-llama', prompt: 'x', stream: 'yes' }),
  gen({ model: 'tiny-llama', prompt: 'x', images: ['AAAA'] }),
  gen({ model: 'no-such-model', prompt: 'x' }, 404),
  gen({ model: '../etc/passwd', prompt: 'x' }),
  gen({ model: 'detector', prompt: 'x' }, 400, 'generate: a detector asked to generate'),
  {
    ...gen({ model: 'tiny-llama', prompt: 'x' }),
    name: 'generate: a bad X-VMM-Backend',
    headers: { 'x-vmm-backend': 'gpu' },
  },
  chat({ model: 'tiny-llama' }),
  chat({ model: 'tiny-llama', messages: [{ role: 'user' }] }),
  chat({ model: 'tiny-llama', messages: [], keep_alive: '99999999999h' }),
  chat({ model: 'tiny-llama', messages: [{ role: 'wizard', content: 'x' }] }),
  chat({ model: 'tiny-llama', messages: [{ role: 'user', content: 5 }] }),
  chat({ model: 'tiny-llama', messages: 'hi' }),
  { name: 'show: no model', path: '/api/show', body: {}, status: 400, shape: 'ollama' },
  { name: 'show: unknown model', path: '/api/show', body: { model: 'nope' }, status: 404, shape: 'ollama' },
  { name: 'pull: unknown model', path: '/api/pull', body: { model: 'nope' }, status: 404, shape: 'ollama' },
  oaChat({ model: 'tiny-llama' }),
  oaChat({ model: 'tiny-llama', messages: [] }),
  oaChat({ model: 'tiny-llama', messages: user, temperature: 3 }),
  oaChat({ model: 'tiny-llama', messages: user, n: 2 }),
  oaChat({ model: 'tiny-llama', messages: user, max_tokens: 0 }),
  oaChat({ model: 'tiny-llama', messages: user, stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }),
  oaChat({ model: 'tiny-llama', messages: user, stream: 'true' }),
  oaChat({
    model: 'tiny-llama',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
  }),
  oaChat({ model: 'no-such-model', messages: user }, 404),
  {
    name: 'chat completions: invalid JSON',
    path: '/v1/chat/completions',
    raw: '{"model":',
    status: 400,
    shape: 'openai',
  },
  oaCompletion({ model: 'tiny-llama' }),
  oaCompletion({ model: 'tiny-llama', prompt: ['a', 'b'] }),
  { name: 'models: unknown model', path: '/v1/models/nope', method: 'GET', status: 404, shape: 'openai' },
  detect({ model: 'detector' }),
  detect({ model: 'detector', image: '%%%not base64%%%' }),
  detect({ model: 'detector', image: b64('I am text, not an image') }),
  detect({ model: 'detector', image: b64('x'), confidence_threshold: 2 }),
  detect({ model: 'nope', image: b64('x') }, 404),
  detect({ model: 'tiny-llama', image: b64('x') }, 400, 'detect: a text model'),
  {
    name: 'classify: top_k 0',
    path: '/v1/vision/classify',
    body: { model: 'classifier', image: b64('x'), top_k: 0 },
    status: 400,
    shape: 'vmm',
  },
  { name: 'unknown route', path: '/v2/everything', body: {}, status: 404, shape: 'vmm' },
  {
    name: 'body over the limit',
    path: '/api/generate',
    raw: JSON.stringify({ model: 'tiny-llama', prompt: 'x'.repeat(2 * 1024 * 1024) }),
    status: 413,
    shape: 'ollama',
  },
];

describe('malformed requests', () => {
  it(`has at least 40 cases (${malformed.length})`, () =>
    expect(malformed.length).toBeGreaterThanOrEqual(40));

  it.each(malformed.map((c) => [c.name, c] as const))('%s → 4xx in the route’s shape', async (_name, c) => {
    const response = await fetch(`${gateway.url}${c.path}`, {
      method: c.method ?? 'POST',
      headers: c.raw instanceof FormData ? c.headers : { 'content-type': 'application/json', ...c.headers },
      ...(c.method === 'GET' ? {} : { body: c.raw ?? JSON.stringify(c.body) }),
    });
    const body = (await response.json()) as { error: unknown };
    expect({ status: response.status }).toEqual({ status: c.status });
    if (c.shape === 'ollama') expect(typeof body.error).toBe('string');
    if (c.shape === 'openai')
      expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
    if (c.shape === 'vmm')
      expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });

  it('is still up afterwards', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });
});

describe('vision over HTTP', () => {
  it('detects from a multipart upload, boxes in original pixels', async () => {
    const form = new FormData();
    form.append('model', 'detector');
    form.append('confidence_threshold', '0.3');
    form.append(
      'image',
      new Blob([await png([{ x: 40, y: 60, size: 50, rgb: detectorColours[2]!.rgb }])]),
      'squares.png',
    );
    const response = await fetch(`${gateway.url}/v1/vision/detect`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      detections: { box: { x1: number; y1: number; x2: number; y2: number } }[];
    };
    expect(body).toMatchObject({
      model: 'detector',
      detections: [{ label: 'blue', class_id: 2 }],
      image: { width: 320, height: 240 },
    });
    const box = body.detections[0]!.box;
    const pairs = [
      [box.x1, 40],
      [box.y1, 60],
      [box.x2, 90],
      [box.y2, 110],
    ] as const;
    for (const [got, want] of pairs) expect(Math.abs(got - want)).toBeLessThan(1.5);
  });

  it('classifies base64 JSON', async () => {
    const response = await fetch(`${gateway.url}/v1/vision/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'classifier',
        image: `data:image/png;base64,${(await png()).toString('base64')}`,
        top_k: 1,
      }),
    });
    expect(await response.json()).toMatchObject({ classes: [{ label: 'black' }] });
  });

  it('refuses a multipart form without the image file', async () => {
    const form = new FormData();
    form.append('model', 'detector');
    form.append('picture', new Blob([await png()]), 'x.png');
    const response = await fetch(`${gateway.url}/v1/vision/detect`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'image' } });
  });
});

describe('API keys', () => {
  const call = (path: string, authorization?: string) =>
    fetch(`${secured.url}${path}`, { headers: authorization ? { authorization } : {} });

  it.each([
    ['no key', undefined, 401],
    ['a wrong key', 'Bearer nope', 401],
    ['a key of another scheme', 'Basic key-one', 401],
    ['the first key', 'Bearer key-one', 200],
    ['the second key, lower-case scheme', 'bearer key-two', 200],
  ])('/api/tags with %s → %i', async (_name, authorization, status) => {
    expect((await call('/api/tags', authorization)).status).toBe(status);
  });

  it('answers 401 in each route’s shape', async () => {
    expect(await (await call('/api/tags')).json()).toEqual({ error: expect.stringContaining('API key') });
    expect(await (await call('/v1/models')).json()).toMatchObject({
      error: { type: 'authentication_error' },
    });
    expect(await (await call('/v1/workers')).json()).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('leaves /healthz and /readyz open', async () => {
    expect((await call('/healthz')).status).toBe(200);
    expect((await call('/readyz')).status).toBe(200);
  });
});

describe('operations', () => {
  it('exposes the named Prometheus series', async () => {
    await fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-llama', prompt: 'x', options: { num_predict: 3 } }),
    }).then((r) => r.text());
    await gateway.gateway.pool.pollAll();
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const series of [
      'vmm_http_requests_total{route="/api/generate",method="POST",status="200"}',
      'vmm_http_request_duration_seconds_bucket',
      'vmm_time_to_first_token_seconds_bucket',
      'vmm_inter_token_latency_seconds_bucket',
      'vmm_tokens_generated_total{model="tiny-llama:latest",backend="cpu"}',
      'vmm_worker_queue_depth{worker=',
      'vmm_worker_up{worker=',
    ]) {
      expect(text).toContain(series);
    }
  });

  it('passes X-Request-Id through, or makes one', async () => {
    expect(
      (await fetch(`${gateway.url}/api/version`, { headers: { 'x-request-id': 'req-42' } })).headers.get(
        'x-request-id',
      ),
    ).toBe('req-42');
    expect((await fetch(`${gateway.url}/api/version`)).headers.get('x-request-id')).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });
});
