// Routing across two real worker processes: pins, failover when one dies, 503 when none serves,
// and a client abort reaching the worker.
import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@vmm/test-support';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers, type WorkerProcess } from './harness.js';

const processes = useWorkers({}, {});
const gateway = useGateway(() => gatewayConfig(cpuWorkers(processes)));

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const generate = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  post(
    '/api/generate',
    { model: 'tiny-llama', prompt: 'Hello', stream: false, options: { num_predict: 2 }, ...extra },
    headers,
  );
const workers = async () =>
  (
    (await (await fetch(`${gateway.url}/v1/workers`)).json()) as {
      workers: { id: string; up: boolean; running: number }[];
    }
  ).workers;

describe('routing', () => {
  it('shows both workers in /v1/workers', async () => {
    await waitFor('both workers up', async () => (await workers()).every((w) => w.up));
    expect((await workers()).map((w) => w.up)).toEqual([true, true]);
  });

  it('honours a backend pin from the header and the options, and 503s a pin nobody serves', async () => {
    expect((await generate({}, { 'x-vmm-backend': 'cpu' })).status).toBe(200);
    expect((await generate({ options: { num_predict: 2, backend: 'cpu' } })).status).toBe(200);
    const pinned = await generate({}, { 'x-vmm-backend': 'cuda' });
    expect(pinned.status).toBe(503);
    expect(await pinned.json()).toEqual({ error: 'no healthy cuda worker' });
    expect(pinned.headers.get('retry-after')).toBe('1');
  });

  it('spreads concurrent load: the less loaded worker takes the next request', async () => {
    const long = post('/api/generate', {
      model: 'heavy-llama',
      prompt: 'Hello',
      stream: false,
      options: { num_predict: 400, temperature: 0 },
    });
    const busy = await waitFor('a worker to run the long request', async () => {
      await gateway.gateway.pool.pollAll();
      const running = (await workers()).filter((w) => w.running > 0);
      return running.length > 0 ? running : undefined;
    });
    expect(busy).toHaveLength(1);
    const order = gateway.gateway.pool.route('heavy-llama').map((handle) => handle.state.id);
    expect(order.at(-1)).toBe(busy[0]?.id);
    await long;
  });

  it('stops the worker’s generation when the HTTP client aborts mid-stream', async () => {
    const controller = new AbortController();
    const streamed = await fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'heavy-llama',
        prompt: 'Hello',
        options: { num_predict: 2000, temperature: 0 },
      }),
      signal: controller.signal,
    });
    const reader = streamed.body!.getReader();
    let lines = 0;
    while (lines < 3) {
      const { value } = await reader.read();
      lines += new TextDecoder().decode(value).split('\n').filter(Boolean).length;
    }
    controller.abort();
    // The worker stops within a decode step; the bound leaves room for a loaded machine.
    await waitFor(
      'the worker to stop generating',
      async () => {
        await gateway.gateway.pool.pollAll();
        return (await workers()).every((w) => w.running === 0);
      },
      { timeoutMs: 5000 },
    );
  });

  it('fails over when a worker is killed, then answers 503 when none is left', async () => {
    const [first, second] = processes as [WorkerProcess, WorkerProcess];
    first.child.kill('SIGKILL');
    await first.exited;
    // Before the pool has noticed: the dead worker fails before the first byte, the other answers.
    for (let i = 0; i < 4; i += 1) expect((await generate()).status).toBe(200);
    await gateway.gateway.pool.pollAll();
    expect((await workers()).map((w) => w.up)).toEqual([false, true]);

    second.child.kill('SIGKILL');
    await second.exited;
    const response = await generate();
    expect(response.status).toBe(503);
    await gateway.gateway.pool.pollAll();
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });
});
