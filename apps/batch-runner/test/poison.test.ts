// A poison item: a request that takes its worker down each time it runs. Here a proxy between
// the runner and a real worker process kills the worker (SIGKILL) whenever the poison's prompt
// passes through it, and starts it again on its port, as `vmm serve` or an orchestrator would.
// The batch must end with 49 results and the poison alone failed, in both views (the OpenAI
// batch's counts and error file, and VMM's results), the poison quarantined after two kills,
// and the stack up (issue 28, point 2).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect, createServer, type Server } from 'node:net';
import type { Gateway } from '@vmm/gateway';
import type { BatchRunner } from '../src/index.js';
import {
  type BatchJson,
  removeDir,
  removePrefix,
  results,
  startGateway,
  startRunner,
  startWorker,
  uniquePrefix,
  waitForStatus,
  writeModels,
} from './harness.js';

const MARKER = 'POISON-PILL-7f3a';
const modelsDir = writeModels();
const prefix = uniquePrefix();
let worker: Awaited<ReturnType<typeof startWorker>>;
let workerPort: number;
let proxy: Server;
let proxyPort: number;
let kills = 0;
let restarting: Promise<void> | undefined;
let gateway: Gateway;
let url: string;
let runner: BatchRunner;

/** Kills the worker as a crash would, and starts it again on its port. */
function crash(): void {
  if (restarting) return;
  kills += 1;
  restarting = (async () => {
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await startWorker(modelsDir, { VMM_GRPC_PORT: String(workerPort) });
    restarting = undefined;
  })();
}

beforeAll(async () => {
  worker = await startWorker(modelsDir);
  workerPort = worker.port;
  proxy = createServer((client) => {
    const upstream = connect(workerPort, '127.0.0.1');
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      // gRPC messages travel uncompressed: the prompt's bytes are in the stream as they are.
      const seen = tail + chunk.toString('latin1');
      if (seen.includes(MARKER)) crash();
      tail = seen.slice(-MARKER.length);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as { port: number }).port;
  ({ gateway, url } = await startGateway(proxyPort, prefix));
  runner = await startRunner(proxyPort, prefix, undefined, 4);
});
afterAll(async () => {
  await runner.close();
  await gateway.close();
  await restarting;
  worker.child.kill('SIGTERM');
  await worker.exited;
  await new Promise((resolve) => proxy.close(resolve));
  await removePrefix(prefix);
  removeDir(modelsDir);
});

it('ends a batch of 50 with 49 results and the poison alone failed, quarantined after two kills', async () => {
  const items = Array.from({ length: 50 }, (_, index) => ({
    custom_id: `item-${index}`,
    method: 'POST',
    url: '/api/generate',
    body: {
      model: 'tiny-llama',
      prompt: index === 20 ? `${MARKER} once upon a time` : `Story number ${index}`,
      stream: false,
      options: { temperature: 0, num_predict: 8 },
    },
  }));
  const created = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/jsonl' },
    body: items.map((item) => JSON.stringify(item)).join('\n'),
  });
  expect(created.status).toBe(200);
  const { id } = (await created.json()) as BatchJson;

  const done = (await waitForStatus(url, id, ['completed', 'failed', 'cancelled'], 120_000)) as BatchJson & {
    error_file_id: string | null;
    output_file_id: string | null;
  };
  expect([done.status, done.request_counts]).toEqual(['completed', { total: 50, completed: 49, failed: 1 }]);
  // Killed when it first ran (with others in flight) and when it ran alone; never a third time.
  expect(kills).toBe(2);

  // VMM's view: every item once, 49 answered 200, the poison failed with its reason.
  const lines = await results(url, id);
  expect(lines.map((line) => line.custom_id).sort()).toEqual(items.map((item) => item.custom_id).sort());
  const failed = lines.filter((line) => line.response?.status_code !== 200);
  expect(failed).toEqual([
    expect.objectContaining({
      custom_id: 'item-20',
      response: null,
      error: expect.objectContaining({
        code: 'request_failed',
        message: expect.stringMatching(/^quarantined: /),
      }),
    }),
  ]);
  // OpenAI's view agrees: the error file holds the poison alone, the output file the rest.
  const errors = await (await fetch(`${url}/v1/files/${done.error_file_id}/content`)).text();
  expect(
    errors
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { custom_id: string }).custom_id),
  ).toEqual(['item-20']);
  const outputs = await (await fetch(`${url}/v1/files/${done.output_file_id}/content`)).text();
  expect(outputs.trim().split('\n')).toHaveLength(49);

  // The stack is up: the worker answers through the runner's path.
  await restarting;
  const answer = await fetch(`${url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-llama', prompt: 'hi', stream: false, options: { num_predict: 2 } }),
  });
  expect(answer.status).toBe(200);
}, 180_000);
