// A corpus of malformed requests, generated across every route of both APIs (and VMM's own),
// sent to a gateway process in front of a worker process, as `npm start` runs them: none may
// get a 5xx or hang, and the gateway must be up and serving afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { credentials, Metadata } from '@grpc/grpc-js';
import { type GenerateChunk, InferenceClient } from '@vmm/proto';
import { appMain, removeRedisPrefix, startProcess, type StartedProcess } from '@vmm/test-support';
import { removeModels, startWorker, type WorkerProcess, writeModels } from './harness.js';

interface Case {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const HANG_MS = 5000;
const json = { 'content-type': 'application/json' };
const b64 = Buffer.from('not an image').toString('base64');

// Valid bodies for each JSON route: the corpus breaks one thing at a time.
const bases: Record<string, Record<string, unknown>> = {
  '/api/generate': { model: 'tiny-llama', prompt: 'Hi', stream: false, options: { num_predict: 1 } },
  '/api/chat': { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hi' }], stream: false },
  '/v1/chat/completions': { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 },
  '/v1/completions': { model: 'tiny-llama', prompt: 'Hi', max_tokens: 1 },
  '/v1/vision/detect': { model: 'detector', image: b64 },
  '/v1/vision/classify': { model: 'classifier', image: b64 },
  '/api/show': { model: 'tiny-llama' },
  '/api/pull': { model: 'tiny-llama', stream: false },
};

// Numeric fields and where they sit in each body.
const numberFields: [string, string[]][] = [
  ['/api/generate', ['options', 'temperature']],
  ['/api/generate', ['options', 'top_k']],
  ['/api/generate', ['options', 'top_p']],
  ['/api/generate', ['options', 'min_p']],
  ['/api/generate', ['options', 'repeat_penalty']],
  ['/api/generate', ['options', 'repeat_last_n']],
  ['/api/generate', ['options', 'presence_penalty']],
  ['/api/generate', ['options', 'seed']],
  ['/api/generate', ['options', 'num_predict']],
  ['/api/generate', ['options', 'num_ctx']],
  ['/api/chat', ['options', 'frequency_penalty']],
  ['/v1/chat/completions', ['max_tokens']],
  ['/v1/chat/completions', ['temperature']],
  ['/v1/chat/completions', ['seed']],
  ['/v1/completions', ['max_completion_tokens']],
  ['/v1/completions', ['top_p']],
  ['/v1/vision/detect', ['confidence_threshold']],
  ['/v1/vision/detect', ['iou_threshold']],
  ['/v1/vision/detect', ['max_detections']],
  ['/v1/vision/classify', ['top_k']],
];
const badNumbers: unknown[] = [
  1e308,
  -1e308,
  2 ** 32,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  -1e-9,
  '',
  null,
  [],
  {},
  '12abc',
  true,
];

/** Values in `badNumbers` that a field does take: OpenAI's fields are nullable, seeds are uint64, penalties signed. */
function acceptedBy(path: string, field: string[], value: unknown): boolean {
  const name = field.at(-1) as string;
  if (value === null && path.startsWith('/v1/') && !path.startsWith('/v1/vision/')) return true;
  if (name === 'seed' && value === 2 ** 32) return true;
  if (/penalty$/.test(name) && value === -1e-9) return true;
  return false;
}

const badKeepAlive: unknown[] = [
  1e300,
  '99999999999h',
  '2562047788015216h',
  '',
  '5x',
  [],
  { m: 5 },
  Number.MAX_VALUE,
];

const badStrings: unknown[] = [7, null, [], {}, 'x'.repeat(100_000), '../../etc/passwd', '\u0000', true];

const withField = (base: Record<string, unknown>, path: string[], value: unknown) => {
  const copy = structuredClone(base);
  let target = copy;
  for (const key of path.slice(0, -1)) {
    target[key] = { ...((target[key] as object | undefined) ?? {}) };
    target = target[key] as Record<string, unknown>;
  }
  target[path.at(-1) as string] = value;
  return copy;
};

function corpus(): Case[] {
  const cases: Case[] = [];
  const post = (name: string, path: string, body: unknown, headers: Record<string, string> = json) =>
    cases.push({
      name,
      method: 'POST',
      path,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  for (const [path, field] of numberFields)
    for (const value of badNumbers.filter((value) => !acceptedBy(path, field, value)))
      post(
        `${path} ${field.join('.')}=${JSON.stringify(value)}`,
        path,
        withField(bases[path]!, field, value),
      );

  for (const [path, base] of Object.entries(bases)) {
    // /api/show and /api/pull read only the model name: other fields are not theirs to refuse.
    const inference = !['/api/show', '/api/pull'].includes(path);
    for (const value of badStrings)
      post(`${path} model=${String(value).slice(0, 20)}`, path, { ...base, model: value });
    if (inference) {
      for (const value of badKeepAlive)
        post(`${path} keep_alive=${JSON.stringify(value)}`, path, { ...base, keep_alive: value });
      post(`${path} with a bad X-VMM-Backend`, path, JSON.stringify(base), {
        ...json,
        'x-vmm-backend': 'tpu',
      });
      const backend = path.startsWith('/api/')
        ? withField(base, ['options', 'backend'], 'gpu')
        : { ...base, backend: 'gpu' };
      post(`${path} with an unknown backend`, path, JSON.stringify(backend));
    }
    for (const raw of [
      '',
      '{',
      '[]',
      'null',
      '"text"',
      '1',
      '{"model":}',
      '{"model":"tiny-llama"',
      '['.repeat(50_000),
    ])
      post(`${path} body ${JSON.stringify(raw.slice(0, 12))}`, path, raw);
    for (const type of [
      'text/plain',
      'application/xml',
      'text/html; charset=utf-8',
      'application/octet-stream',
    ])
      post(`${path} as ${type}`, path, JSON.stringify(base), { 'content-type': type });
    post(`${path} from a foreign origin`, path, JSON.stringify(base), {
      ...json,
      origin: 'http://evil.example',
    });
    cases.push({ name: `PUT ${path}`, method: 'PUT', path, headers: json, body: JSON.stringify(base) });
    cases.push({ name: `DELETE ${path}`, method: 'DELETE', path, headers: {} });
  }

  const text = ['/api/generate', '/v1/completions'] as const;
  for (const path of text) {
    post(`${path} 4 MB prompt`, path, { ...bases[path], prompt: 'the town '.repeat(466_034) });
    post(`${path} prompt of 4 MB of one character`, path, { ...bases[path], prompt: 'é'.repeat(2 << 20) });
  }
  post('/api/generate 4 MB system prompt', '/api/generate', {
    ...bases['/api/generate'],
    system: 'x'.repeat(4 << 20),
  });
  for (const path of ['/api/chat', '/v1/chat/completions']) {
    const base = bases[path]!;
    const many = (n: number, content = '') => Array.from({ length: n }, () => ({ role: 'user', content }));
    post(`${path} 100000 messages`, path, { ...base, messages: many(100_000) });
    post(`${path} 1001 messages`, path, { ...base, messages: many(1001) });
    post(`${path} 4 × 1 MB messages`, path, { ...base, messages: many(4, 'x'.repeat(1 << 20)) });
    post(`${path} a message with a number`, path, { ...base, messages: [{ role: 'user', content: 5 }] });
    post(`${path} an unknown role`, path, { ...base, messages: [{ role: 'wizard', content: 'x' }] });
    post(`${path} content parts with an image`, path, {
      ...base,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    });
  }
  const stops: [string, unknown][] = [
    ['17 stop sequences', Array.from({ length: 17 }, (_, i) => `s${i}`)],
    ['a 300-character stop', ['x'.repeat(300)]],
    ['an empty stop', ['']],
    ['a stop of numbers', [1, 2]],
  ];
  for (const [name, stop] of stops) {
    post(
      `/api/generate ${name}`,
      '/api/generate',
      withField(bases['/api/generate']!, ['options', 'stop'], stop),
    );
    post(`/v1/chat/completions ${name}`, '/v1/chat/completions', { ...bases['/v1/chat/completions'], stop });
  }
  post('/api/chat a message without content', '/api/chat', {
    ...bases['/api/chat'],
    messages: [{ role: 'user' }],
  });
  post('/api/chat images for a text model', '/api/chat', {
    ...bases['/api/chat'],
    messages: [{ role: 'user', content: 'x', images: ['AAAA'] }],
  });
  post('/v1/vision/detect 10001 class ids', '/v1/vision/detect', {
    ...bases['/v1/vision/detect'],
    class_ids: Array.from({ length: 10_001 }, (_, i) => i),
  });
  post('/v1/vision/detect a class id of 2^32', '/v1/vision/detect', {
    ...bases['/v1/vision/detect'],
    class_ids: [2 ** 32],
  });
  post('body over VMM_MAX_BODY_BYTES', '/api/generate', {
    ...bases['/api/generate'],
    prompt: 'x'.repeat(33 << 20),
  });

  // Multipart uploads: truncated, without a boundary, with the wrong one, too many parts.
  const part = (name: string, value: string, file = false) =>
    `--X\r\nContent-Disposition: form-data; name="${name}"${file ? '; filename="a.png"' : ''}\r\n\r\n${value}\r\n`;
  const multipart = { 'content-type': 'multipart/form-data; boundary=X' };
  const forms: [string, string, Record<string, string>][] = [
    [
      'truncated after the file header',
      '--X\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc',
      multipart,
    ],
    ['truncated in a field', '--X\r\nContent-Disposition: form-data; name="model"\r\n\r\ndet', multipart],
    ['no closing boundary', part('model', 'detector') + part('image', 'abc', true), multipart],
    ['no boundary parameter', part('image', 'abc', true), { 'content-type': 'multipart/form-data' }],
    [
      'another boundary',
      part('image', 'abc', true) + '--X--\r\n',
      { 'content-type': 'multipart/form-data; boundary=Y' },
    ],
    ['no image', part('model', 'detector') + '--X--\r\n', multipart],
    [
      'two images',
      part('model', 'detector') + part('image', 'a', true) + part('image', 'b', true) + '--X--\r\n',
      multipart,
    ],
    ['an image as a field', part('model', 'detector') + part('image', 'abc') + '--X--\r\n', multipart],
    [
      '100 fields',
      Array.from({ length: 100 }, (_, i) => part(`f${i}`, 'x')).join('') + '--X--\r\n',
      multipart,
    ],
    [
      'a non-image file',
      part('model', 'detector') + part('image', 'not an image', true) + '--X--\r\n',
      multipart,
    ],
    [
      'a bad threshold',
      part('model', 'detector') + part('confidence_threshold', '') + part('image', 'abc', true) + '--X--\r\n',
      multipart,
    ],
    [
      'a huge threshold',
      part('model', 'detector') +
        part('confidence_threshold', '1e308') +
        part('image', 'abc', true) +
        '--X--\r\n',
      multipart,
    ],
    [
      'bad class ids',
      part('model', 'detector') +
        part('class_ids', '1,x,4294967296') +
        part('image', 'abc', true) +
        '--X--\r\n',
      multipart,
    ],
    [
      'a 100 kB field',
      part('model', 'x'.repeat(100_000)) + part('image', 'abc', true) + '--X--\r\n',
      multipart,
    ],
    ['garbage', '\u0000\u0001\u0002--X--', multipart],
  ];
  for (const path of ['/v1/vision/detect', '/v1/vision/classify'])
    for (const [name, body, headers] of forms)
      cases.push({ name: `${path} multipart: ${name}`, method: 'POST', path, headers, body });

  // Batches, GET routes, odd paths and headers.
  for (const body of [
    '',
    '{',
    'not jsonl',
    '{"custom_id":"a"}',
    '{"custom_id":"a","url":"/v2/x","body":{}}',
    '[]',
  ])
    cases.push({
      name: `batch ${JSON.stringify(body)}`,
      method: 'POST',
      path: '/v1/batches',
      headers: json,
      body,
    });
  for (const path of [
    '/v1/batches/nope',
    '/v1/batches/%2e%2e%2f%2e%2e',
    '/v1/batches/nope/results',
    '/v1/batches?limit=0',
    '/v1/batches?limit=1e308',
    '/v1/batches?limit=abc',
    '/v1/models/nope',
    '/v1/models/%00',
    '/api/show',
    '/no/such/route',
    '/%',
    '/../../etc/passwd',
    `/api/tags?${'x'.repeat(20_000)}`,
  ])
    cases.push({ name: `GET ${path.slice(0, 40)}`, method: 'GET', path, headers: {} });
  cases.push({
    name: 'cancel an unknown batch',
    method: 'POST',
    path: '/v1/batches/nope/cancel',
    headers: {},
  });
  cases.push({
    name: 'a header block over 16 kB',
    method: 'GET',
    path: '/api/tags',
    headers: { 'x-request-id': 'x'.repeat(20_000) },
  });
  return cases;
}

const cases = corpus();
let modelsDir: string;
let worker: WorkerProcess;
let gateway: StartedProcess;
let url: string;
const prefix = `vmm-fuzz-${process.pid}`;

beforeAll(async () => {
  modelsDir = writeModels();
  worker = await startWorker(modelsDir);
  gateway = await startProcess(
    appMain.gateway,
    {
      VMM_WORKERS: `cpu=127.0.0.1:${worker.port}`,
      VMM_HTTP_PORT: '0',
      VMM_BATCH_PREFIX: prefix,
      LOG_LEVEL: 'fatal',
    },
    /listening on http:\/\/[^:]+:(\d+)/,
  );
  url = `http://127.0.0.1:${gateway.match[1]}`;
});

afterAll(async () => {
  await gateway?.stop();
  await worker?.stop();
  removeModels(modelsDir);
  await removeRedisPrefix(prefix).catch(() => undefined);
});

/** One request; its status, or what went wrong (a hang is a failure, not a wait). */
async function send(c: Case): Promise<{ name: string; status: number | string; ms: number }> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}${c.path}`, {
      method: c.method,
      headers: c.headers,
      ...(c.body === undefined ? {} : { body: c.body }),
      signal: AbortSignal.timeout(HANG_MS),
    });
    await response.arrayBuffer();
    return { name: c.name, status: response.status, ms: performance.now() - started };
  } catch (error) {
    // fetch says only "fetch failed": the socket's own error (reset, closed) is in its cause.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      name: c.name,
      status: `failed: ${(error as Error).name} ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`,
      ms: performance.now() - started,
    };
  }
}

describe('the malformed-request corpus', () => {
  it(`has at least 300 cases across every route (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it('gets only 4xx answers, none later than 5 s, from a gateway that stays up', async () => {
    const results: Awaited<ReturnType<typeof send>>[] = [];
    // Four at a time, as clients would send them.
    for (let i = 0; i < cases.length; i += 4)
      results.push(...(await Promise.all(cases.slice(i, i + 4).map(send))));
    const bad = results.filter((r) => typeof r.status !== 'number' || r.status < 400 || r.status >= 500);
    expect(bad).toEqual([]);
    expect(gateway.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const generated = await fetch(`${url}/api/generate`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(bases['/api/generate']),
    });
    expect(await generated.json()).toMatchObject({ done: true });
  });

  it('gets an answer to a body that stops half-way through when the client goes away', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1', () => {
        socket.end(
          'POST /v1/vision/detect HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: 1000\r\n\r\n--X\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc',
        );
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    expect(gateway.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe('a 4 MB prompt', () => {
  const short = () =>
    fetch(`${url}/api/generate`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(bases['/api/generate']),
    });

  it('is refused by the gateway before a worker sees it while a short request beside it completes', async () => {
    const [big, small] = await Promise.all([
      fetch(`${url}/api/generate`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ ...bases['/api/generate'], prompt: 'x'.repeat(4 << 20) }),
      }).then(async (response) => ({ status: response.status, body: await response.text() })),
      short().then(async (response) => ({ status: response.status, body: await response.json() })),
    ]);
    // 413 is the gateway's size check, made before any worker sees the prompt (no timing is
    // asserted: CI's busy cores make any bound either flaky or meaningless).
    expect(big.status).toBe(413);
    expect(small).toMatchObject({ status: 200, body: { done: true, done_reason: expect.any(String) } });
  });

  it('sent to the worker directly, is refused before tokenizing while a short request beside it completes', async () => {
    const client = new InferenceClient(`127.0.0.1:${worker.port}`, credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 << 20,
    });
    const run = (prompt: string) =>
      new Promise<{ error?: string; done: boolean }>((resolve) => {
        let done = false;
        const call = client.generate(
          {
            model: 'tiny-llama',
            prompt,
            raw: true,
            images: [],
            options: { stop: [], maxTokens: 2 },
            context: undefined,
          },
          new Metadata(),
        );
        call.on('data', (chunk: GenerateChunk) => (done ||= chunk.done !== undefined));
        call.on('error', (error: Error) => resolve({ error: error.message, done }));
        call.on('end', () => resolve({ done }));
      });
    try {
      const [big, small] = await Promise.all([run('the town '.repeat(466_034)), run('Hello')]);
      // The byte-length check's message: it runs before the tokenizer sees the prompt.
      expect(big.error).toMatch(/cannot hold more than/);
      expect(small.error).toBeUndefined();
      expect(small.done).toBe(true);
    } finally {
      client.close();
    }
  });
});
