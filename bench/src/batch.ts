// bench/batch: 200 small generate items through the batch API (BullMQ in Redis, the batch
// runner, gRPC) against the same 200 requests sent straight to the gateway with the same
// parallelism, in one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRunner } from '@vmm/batch-runner';
import { createGateway, loadConfig } from '@vmm/gateway';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { Redis } from 'ioredis';
import { startWorkerProcess } from '@vmm/test-support';
import { pino } from 'pino';
import { checked, getJson, postJson } from './checked-fetch.js';
import { ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    tokens: { type: 'string', default: '8' },
  },
});
const count = Number(values.items);
const concurrency = Number(values.concurrency);
const prefix = `vmm-bench-batch-${process.pid}`;
const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-bench-batch-'));
writeLlamaFolder(join(modelsDir, 'tiny-llama'));

const worker = await startWorkerProcess(modelsDir, {
  VMM_THREADS: '1',
  VMM_MAX_RUNNING: String(concurrency),
  VMM_MAX_BATCH: String(concurrency),
  VMM_MAX_QUEUE: '1000',
});
const grpcPort = worker.port;
const workers = [{ backend: 'cpu' as const, address: `127.0.0.1:${grpcPort}` }];
const silent = pino({ level: 'silent' });
const gateway = createGateway(
  {
    ...loadConfig({}),
    host: '127.0.0.1',
    port: 0,
    workers,
    preference: ['cpu'],
    apiKeys: [],
    pollIntervalMs: 500,
    maxBodyBytes: 32 * 1024 * 1024,
    redisUrl: 'redis://127.0.0.1:6379',
    batchPrefix: prefix,
    batchTtlMs: 3_600_000,
    batchMaxItems: 10_000,
    batchMaxBytes: 32 * 1024 * 1024,
    shutdownGraceMs: 0,
    logLevel: 'silent',
  },
  silent,
);
const url = `http://127.0.0.1:${await gateway.listen('127.0.0.1', 0)}`;
const runner = await createRunner(
  {
    redisUrl: 'redis://127.0.0.1:6379',
    workers,
    preference: ['cpu'],
    prefix,
    concurrency,
    lockMs: 30_000,
    ttlMs: 3_600_000,
    pollIntervalMs: 500,
    workerToken: undefined,
    workerTlsCa: undefined,
    logLevel: 'silent',
  },
  silent,
);

const body = (i: number) => ({
  model: 'tiny-llama',
  prompt: `Story ${i}`,
  raw: true,
  stream: false,
  options: { num_predict: Number(values.tokens), temperature: 0 },
});
await postJson(`${url}/api/generate`, body(-1));

// Direct: the same requests, `concurrency` at a time.
let started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      await postJson(`${url}/api/generate`, body(i));
    }
  }),
);
const directRate = count / ((performance.now() - started) / 1000);

// Batch: submit, then poll until completed.
started = performance.now();
const jsonl = Array.from({ length: count }, (_, i) =>
  JSON.stringify({ custom_id: `i${i}`, method: 'POST', url: '/api/generate', body: body(i) }),
).join('\n');
const batch = await checked<{ id: string }>(
  await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/jsonl' },
    body: jsonl,
  }),
  'POST /v1/batches',
);
for (;;) {
  const state = await getJson<{ status: string; request_counts: { completed: number; failed: number } }>(
    `${url}/v1/batches/${batch.id}`,
  );
  if (['failed', 'cancelled', 'expired'].includes(state.status))
    throw new Error(`the batch ended ${state.status}`);
  if (state.status === 'completed') {
    // Items that failed are no throughput.
    if (state.request_counts.failed > 0 || state.request_counts.completed !== count)
      throw new Error(
        `the batch completed ${state.request_counts.completed} of ${count} items (${state.request_counts.failed} failed)`,
      );
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const batchRate = count / ((performance.now() - started) / 1000);
console.log(`bench/batch items=${count} concurrency=${concurrency} tokens=${values.tokens}`);
console.log(`direct /api/generate  ${directRate.toFixed(1).padStart(7)} items/s`);
console.log(
  `batch (BullMQ)        ${batchRate.toFixed(1).padStart(7)} items/s   ratio batch/direct ${ratio(batchRate, directRate)}`,
);

await runner.close();
await gateway.close();
await worker.stop();
const redis = new Redis('redis://127.0.0.1:6379');
let cursor = '0';
do {
  const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  cursor = nextCursor;
  if (keys.length > 0) await redis.del(...keys);
} while (cursor !== '0');
redis.disconnect();
rmSync(modelsDir, { recursive: true, force: true });
