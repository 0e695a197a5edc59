// A full worker answers 429 with Retry-After through the gateway, in the route's shape.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  gatewayConfig,
  removeModels,
  type RunningGateway,
  startGateway,
  startWorker,
  stopWorker,
  type WorkerProcess,
  writeModels,
} from './harness.js';

const modelsDir = writeModels();
let worker: WorkerProcess;
let gateway: RunningGateway;

beforeAll(async () => {
  worker = await startWorker(modelsDir, { VMM_MAX_RUNNING: '1', VMM_MAX_QUEUE: '0' });
  gateway = await startGateway(gatewayConfig([{ backend: 'cpu', port: worker.port }]));
});
afterAll(async () => {
  await gateway.close();
  await stopWorker(worker);
  removeModels(modelsDir);
});

it('answers 429 with Retry-After when the only worker is full', async () => {
  const controller = new AbortController();
  const long = await fetch(`${gateway.url}/api/generate`, {
    method: 'POST',
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
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    const error = ((await response.json()) as { error: unknown }).error;
    if (shape === 'ollama') expect(error).toEqual(expect.stringContaining('busy'));
    else expect(error).toMatchObject({ type: 'rate_limit_error' });
  }
  controller.abort();
});
