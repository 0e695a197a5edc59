// A Redis that hangs (stopped, not down): files and batches answer 503 within the configured
// bound, their pollers never take generation's slots, /readyz says what is happening, /metrics
// answers, and all is well again once Redis runs again (issue 28, point 4).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type PrivateRedis, startPrivateRedis, waitFor } from '@vmm/test-support';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await startPrivateRedis();
});
const workers = useWorkers();
const gateway = useGateway(() =>
  gatewayConfig(cpuWorkers(workers), {
    redisUrl: redis.url,
    redisTimeoutMs: 500,
    maxInFlight: 16,
    maxBatchInFlight: 4,
  }),
);
afterAll(async () => {
  // The gateway's own close cleans its keys up: Redis must answer by then.
  redis.thaw();
  await redis.stop();
});

async function timed(path: string, init: RequestInit = {}) {
  const started = performance.now();
  const response = await fetch(`${gateway.url}${path}`, init);
  const body = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body,
    ms: performance.now() - started,
  };
}
const readyz = async () => JSON.parse((await timed('/readyz')).body) as { status: string; redis: string };
const generate = () =>
  timed('/api/generate', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-llama', prompt: 'hi', stream: false, options: { num_predict: 2 } }),
  });

it('refuses a batch that no runner would run, and says why', async () => {
  const created = await timed('/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/jsonl' },
    body: JSON.stringify({
      custom_id: 'a',
      method: 'POST',
      url: '/api/generate',
      body: { model: 'tiny-llama', prompt: 'hi' },
    }),
  });
  expect([created.status, created.retryAfter, created.body]).toEqual([
    503,
    '5',
    expect.stringContaining('no batch runner is running'),
  ]);
  // Nothing was kept: the list is empty.
  expect(JSON.parse((await timed('/v1/batches')).body)).toMatchObject({ data: [] });
});

it('answers 503 within its bound while Redis hangs, and generation keeps serving', async () => {
  expect((await timed('/v1/batches')).status).toBe(200);
  expect((await readyz()).redis).toBe('ready');

  redis.freeze();
  // 40 pollers at once, as dashboards and SDKs poll a batch: each is answered 503 with
  // Retry-After, none waits past the bound (500 ms, and a margin for a busy machine).
  const pollers = await Promise.all(
    Array.from({ length: 40 }, (_, index) => timed(index % 2 === 0 ? '/v1/batches' : '/v1/files')),
  );
  for (const poller of pollers) {
    expect([poller.status, poller.retryAfter]).toEqual([503, expect.stringMatching(/^\d+$/)]);
    expect(poller.ms).toBeLessThan(5_000);
  }
  // Those that reached Redis say why; the rest were turned away by their own budget.
  expect(
    pollers.some((poller) => /did not answer within 500 ms|has not answered within 500 ms/.test(poller.body)),
  ).toBe(true);

  // Generation and listings are untouched, while pollers hold every file-and-batch slot.
  const holding = Array.from({ length: 8 }, () => timed('/v1/batches'));
  const [generated, tags] = await Promise.all([generate(), timed('/api/tags')]);
  expect([generated.status, tags.status]).toEqual([200, 200]);
  await Promise.all(holding);

  // /readyz stays 200 (the API serves) and says Redis does not respond; /metrics answers.
  await waitFor(
    '/readyz to say Redis is not responding',
    async () => (await readyz()).redis === 'not responding',
  );
  expect((await readyz()).status).toBe('ready');
  const metrics = await timed('/metrics');
  expect([metrics.status, metrics.ms < 5_000]).toEqual([200, true]);

  // Redis runs again: so do files and batches, with nothing to restart.
  redis.thaw();
  await waitFor('/readyz to say Redis is ready again', async () => (await readyz()).redis === 'ready', {
    timeoutMs: 15_000,
  });
  expect((await timed('/v1/batches')).status).toBe(200);
  expect((await timed('/v1/files')).status).toBe(200);
});

it('says Redis is unreachable once it is gone, and still serves the rest', async () => {
  await redis.stop();
  await waitFor('/readyz to say Redis is unreachable', async () => (await readyz()).redis === 'unreachable', {
    timeoutMs: 15_000,
  });
  const batches = await timed('/v1/batches');
  expect([batches.status, batches.body]).toEqual([503, expect.stringContaining('does not answer')]);
  expect((await generate()).status).toBe(200);
});
