// A full worker answers 429 with Retry-After through the gateway, in the route's shape.
import { expect, it } from '@jest/globals';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers({ VMM_MAX_RUNNING: '1', VMM_MAX_BATCH: '1', VMM_MAX_QUEUE: '0' });
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

it('answers 429 with Retry-After when the only worker is full', async () => {
  const controller = new AbortController();
  const long = await fetch(`${gateway.url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'heavy-llama',
      prompt: 'Hello',
      options: { num_predict: 1500, temperature: 0 },
    }),
    signal: controller.signal,
  });
  const reader = long.body!.getReader();
  await reader.read(); // the first token: the slot is taken
  for (const [path, body, shape] of [
    ['/api/generate', { model: 'heavy-llama', prompt: 'x', stream: false }, 'ollama'],
    ['/v1/chat/completions', { model: 'heavy-llama', messages: [{ role: 'user', content: 'x' }] }, 'openai'],
  ] as const) {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    const error = ((await response.json()) as { error: unknown }).error;
    if (shape === 'ollama') expect(error).toEqual(expect.stringContaining('busy'));
    else expect(error).toMatchObject({ type: 'rate_limit_error' });
  }
  controller.abort();
});
