// Safe defaults and the findings of the hardening review, each against a real worker process:
// browser origins and Host names, content types, the in-flight bound, slow bodies, Ollama's
// unload call, and no secret in any answer or log line.
import { describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { waitFor } from '@vmm/test-support';
import { pino } from 'pino';
import { createGateway } from '../src/index.js';
import { cpuWorkers, gatewayConfig, startGateway, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers), { origins: ['https://*.example.com'] }));

const generate = { model: 'tiny-llama', prompt: 'Hi', stream: false, options: { num_predict: 2 } };
const post = (path: string, body: string, headers: Record<string, string>) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers, body });

/** A raw HTTP/1.1 exchange, for headers fetch will not send (Host) or bodies it will not hold back. */
function raw(port: number, request: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(answer)}`));
    }, timeoutMs);
    socket.on('data', (data) => (answer += data.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', () => undefined);
    socket.write(request);
  });
}
const portOf = (url: string) => Number(new URL(url).port);

describe('browser origins', () => {
  it('refuses a text/plain POST from another origin with 403, running nothing', async () => {
    const response = await post('/api/generate', JSON.stringify(generate), {
      'content-type': 'text/plain',
      origin: 'http://evil.example',
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /origin "http:\/\/evil.example" is not allowed/,
    );
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a batch created from another origin', async () => {
    const response = await post('/v1/batches', '{}', {
      'content-type': 'text/plain',
      origin: 'https://evil.example',
    });
    expect(response.status).toBe(403);
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:5173', 'https://app.example.com'])(
    'lets %s in with CORS headers, and answers its preflight',
    async (origin) => {
      const response = await post('/api/generate', JSON.stringify(generate), {
        'content-type': 'application/json',
        origin,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      const preflight = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
    },
  );

  it('refuses a Host name that is not loopback (DNS rebinding) while bound to loopback', async () => {
    const answer = await raw(
      portOf(gateway.url),
      'GET /api/tags HTTP/1.1\r\nHost: rebind.evil.example:8080\r\nConnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 403/);
    const ok = await raw(
      portOf(gateway.url),
      'GET /api/tags HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n',
    );
    expect(ok).toMatch(/^HTTP\/1.1 200/);
  });
});

describe('content types', () => {
  it.each(['text/plain', 'application/xml', 'image/png'])(
    'answers 415 to a JSON route sent %s',
    async (type) => {
      const response = await post('/v1/chat/completions', '{}', { 'content-type': type });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({
        error: { type: 'invalid_request_error', param: 'content-type' },
      });
    },
  );

  it('reads the JSON of curl -d (a form content type, no browser) as Ollama does', async () => {
    const answer = await raw(
      portOf(gateway.url),
      `POST /api/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${JSON.stringify(generate).length}\r\nConnection: close\r\n\r\n${JSON.stringify(generate)}`,
    );
    expect(answer).toMatch(/^HTTP\/1.1 200/);
  });
});

describe("Ollama's load and unload calls", () => {
  const ps = async () =>
    ((await (await fetch(`${gateway.url}/api/ps`)).json()) as { models: { name: string }[] }).models.map(
      (m) => m.name,
    );

  it.each(['/api/generate', '/api/chat'])(
    '%s with no prompt loads, and with keep_alive 0 unloads (done_reason "unload")',
    async (path) => {
      const body = path === '/api/chat' ? { model: 'tiny-llama', messages: [] } : { model: 'tiny-llama' };
      const loaded = await post(path, JSON.stringify(body), { 'content-type': 'application/json' });
      expect(await loaded.json()).toMatchObject({ done: true, done_reason: 'load' });
      await gateway.gateway.pool.pollAll();
      expect(await ps()).toContain('tiny-llama:latest');

      const unloaded = await post(path, JSON.stringify({ ...body, keep_alive: 0 }), {
        'content-type': 'application/json',
      });
      expect(unloaded.status).toBe(200);
      expect(await unloaded.json()).toMatchObject({ model: 'tiny-llama', done: true, done_reason: 'unload' });
      await gateway.gateway.pool.pollAll();
      expect(await ps()).not.toContain('tiny-llama:latest');
    },
  );

  it('answers 404 to unloading a model nobody serves', async () => {
    const response = await post('/api/generate', JSON.stringify({ model: 'nope', keep_alive: 0 }), {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(404);
  });
});

describe('limits', () => {
  it('answers 503 with Retry-After beyond the in-flight bound, and serves probes all the same', async () => {
    const limited = await startGateway(gatewayConfig(cpuWorkers(workers), { maxInFlight: 1 }));
    const url = limited.url;
    try {
      const controller = new AbortController();
      const long = await fetch(`${url}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'heavy-llama', prompt: 'Hi', options: { num_predict: 2000 } }),
        signal: controller.signal,
      });
      await long.body!.getReader().read();
      const refused = await fetch(`${url}/api/tags`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      controller.abort();
      await waitFor('the slot to be free again', async () => (await fetch(`${url}/api/tags`)).status === 200);
    } finally {
      await limited.close();
    }
  });

  it('cuts a client that sends its body too slowly (408), instead of holding the connection', async () => {
    const slow = await startGateway(
      gatewayConfig(cpuWorkers(workers), { headersTimeoutMs: 1000, requestTimeoutMs: 1000 }),
    );
    const port = portOf(slow.url);
    try {
      const started = Date.now();
      // Headers promise 100 bytes; only 10 ever come.
      const answer = await raw(
        port,
        'POST /api/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":',
      );
      expect(answer === '' || /^HTTP\/1.1 408/.test(answer)).toBe(true);
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      await slow.close();
    }
  });

  it('refuses a prompt over VMM_MAX_PROMPT_BYTES with 413 before a worker sees it', async () => {
    const small = await startGateway(gatewayConfig(cpuWorkers(workers), { maxPromptBytes: 1000 }));
    const response = await fetch(`${small.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-llama', messages: [{ role: 'user', content: 'x'.repeat(1001) }] }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { param: 'messages' } });
    await small.close();
  });
});

describe('secrets', () => {
  it('never shows a password from REDIS_URL in a response or a log line', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = gatewayConfig(cpuWorkers(workers), {
      redisUrl: 'redis://admin:s3cret-pass@127.0.0.1:1/0',
    });
    const leaky = createGateway(config, pino({ level: 'trace' }, sink));
    const url = `http://127.0.0.1:${await leaky.listen('127.0.0.1', 0)}`;
    try {
      const response = await fetch(`${url}/v1/batches`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(text).toContain('redis://***:***@127.0.0.1:1/0');
      expect(text).not.toContain('s3cret');
      await fetch(`${url}/v1/batches/some-id`);
      expect(lines.join('')).not.toContain('s3cret');
    } finally {
      await leaky.close();
    }
  });
});
