// Shutdown (SIGTERM in main.ts): new connections are refused at once, a token stream in flight
// runs to its end within the grace period and is cut after it.
import { afterAll, describe, expect, it } from '@jest/globals';
import { removeRedisPrefix } from '@vmm/test-support';
import { pino } from 'pino';
import { createGateway } from '../src/index.js';
import { cpuWorkers, gatewayConfig, useWorkers } from './harness.js';

const workers = useWorkers();
const prefixes: string[] = [];
afterAll(() => Promise.all(prefixes.map((prefix) => removeRedisPrefix(prefix))));

async function startedStream(tokens: number) {
  const config = gatewayConfig(cpuWorkers(workers));
  prefixes.push(config.batchPrefix);
  const gateway = createGateway(config, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${await gateway.listen('127.0.0.1', 0)}`;
  const response = await fetch(`${url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'heavy-llama',
      prompt: 'Once upon a time',
      options: { num_predict: tokens, temperature: 0 },
    }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  // The rest of the stream, as text, however it ends.
  const rest = (async () => {
    let text = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    } catch {
      return `${text}<cut>`;
    }
  })();
  return { gateway, url, rest };
}

describe('gateway shutdown', () => {
  it('refuses new connections and lets a stream in flight finish within the grace period', async () => {
    const { gateway, url, rest } = await startedStream(200);
    const closing = gateway.close(60_000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const text = await rest;
    expect(text).not.toContain('<cut>');
    const last = JSON.parse(text.trim().split('\n').at(-1) as string) as {
      done: boolean;
      eval_count: number;
    };
    expect(last).toMatchObject({ done: true, eval_count: 200 });
    await closing;
  });

  it('says that it stopped', async () => {
    const config = gatewayConfig(cpuWorkers(workers));
    prefixes.push(config.batchPrefix);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const gateway = createGateway(config, logger);
    await gateway.listen('127.0.0.1', 0);
    await gateway.close(0);
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toContain('gateway stopped');
  });

  it('cuts a stream that outlasts the grace period', async () => {
    const { gateway, rest } = await startedStream(100_000);
    await gateway.close(300);
    const text = await rest;
    expect(text).not.toMatch(/"done":true/);
  });
});
