// Nothing is lost: a runner killed with SIGKILL mid-batch, Redis restarted mid-batch, Redis absent.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BatchJson,
  removeDir,
  removePrefix,
  results,
  runnerMain,
  startGateway,
  startProcess,
  startRunner,
  startWorker,
  uniquePrefix,
  waitForStatus,
  writeModels,
} from './harness.js';
import { waitFor } from '@vmm/test-support';

const modelsDir = writeModels();
let worker: Awaited<ReturnType<typeof startWorker>>;
beforeAll(async () => {
  worker = await startWorker(modelsDir);
});
afterAll(async () => {
  worker.child.kill('SIGTERM');
  await worker.exited;
  removeDir(modelsDir);
});

const slowItems = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    custom_id: `item-${i}`,
    method: 'POST',
    url: '/api/generate',
    body: {
      model: 'heavy-llama',
      prompt: `Tale ${i}`,
      stream: false,
      options: { num_predict: 40, temperature: 0 },
    },
  }));

async function submit(url: string, items: object[]): Promise<BatchJson> {
  const response = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    body: items.map((item) => JSON.stringify(item)).join('\n'),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as BatchJson;
}

async function waitForCompleted(url: string, id: string, count: number): Promise<void> {
  await waitFor(
    `${count} items of batch ${id} to complete`,
    async () => {
      const response = await fetch(`${url}/v1/batches/${id}`);
      return response.ok && ((await response.json()) as BatchJson).request_counts.completed >= count;
    },
    { timeoutMs: 60_000 },
  );
}

async function expectEveryItemOnce(url: string, id: string, count: number): Promise<void> {
  const lines = await results(url, id);
  expect(lines.map((line) => line.custom_id)).toEqual(Array.from({ length: count }, (_, i) => `item-${i}`));
  expect(lines.every((line) => line.response?.status_code === 200)).toBe(true);
}

describe('resilience', () => {
  it('finishes a batch after its runner is killed with SIGKILL, every custom_id exactly once', async () => {
    const prefix = uniquePrefix();
    const { gateway, url } = await startGateway(worker.port, prefix);
    const env = {
      REDIS_URL: 'redis://127.0.0.1:6379',
      VMM_WORKERS: `cpu=127.0.0.1:${worker.port}`,
      VMM_BATCH_PREFIX: prefix,
      VMM_BATCH_LOCK_MS: '2000',
      VMM_BATCH_CONCURRENCY: '2',
      VMM_POLL_INTERVAL_MS: '200',
    };
    const first = await startProcess(runnerMain, env, /vmm-batch-runner running/);
    const batch = await submit(url, slowItems(16));
    await waitForCompleted(url, batch.id, 3);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startProcess(runnerMain, env, /vmm-batch-runner running/);
    const done = await waitForStatus(url, batch.id, ['completed'], 90_000);
    expect(done.request_counts).toEqual({ total: 16, completed: 16, failed: 0 });
    await expectEveryItemOnce(url, batch.id, 16);
    second.child.kill('SIGTERM');
    await second.exited;
    await gateway.close();
    await removePrefix(prefix);
  }, 180_000);

  it('resumes after Redis restarts mid-batch', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dir = mkdtempSync(join(tmpdir(), 'vmm-redis-'));
    const startRedis = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            dir,
            '--appendonly',
            'yes',
            '--appendfsync',
            'always',
            '--save',
            '',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout.on('data', (data: Buffer) => {
          if (data.toString().includes('Ready to accept connections')) resolve(child);
        });
        child.on('error', reject);
      });
    const stopRedis = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    const redisUrl = `redis://127.0.0.1:${port}`;
    let redis = await startRedis();
    const prefix = uniquePrefix();
    const { gateway, url } = await startGateway(worker.port, prefix, redisUrl);
    const runner = await startRunner(worker.port, prefix, redisUrl, 2);
    const batch = await submit(url, slowItems(12));
    await waitForCompleted(url, batch.id, 3);
    await stopRedis(redis);
    expect((await fetch(`${url}/v1/batches/${batch.id}`)).status).toBe(503);
    redis = await startRedis();
    const done = await waitForStatus(url, batch.id, ['completed'], 90_000);
    expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
    await expectEveryItemOnce(url, batch.id, 12);
    await runner.close();
    await gateway.close();
    await stopRedis(redis);
    removeDir(dir);
  }, 180_000);

  it('answers 503 on the batch routes without Redis, and serves everything else', async () => {
    const { gateway, url } = await startGateway(worker.port, uniquePrefix(), 'redis://127.0.0.1:1', false);
    const response = await fetch(`${url}/v1/batches`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
      /batch jobs need Redis at redis:\/\/127.0.0.1:1/,
    );
    expect((await fetch(`${url}/v1/batches/x`)).status).toBe(503);
    expect((await fetch(`${url}/api/tags`)).status).toBe(200);
    await gateway.close();
  });
});
