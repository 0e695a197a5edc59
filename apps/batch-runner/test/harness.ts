// Worker processes, an in-process gateway and batch runners (in-process or as processes) on a
// Redis key prefix of their own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, loadConfig, type Gateway } from '@vmm/gateway';
import {
  writeClassifierFolder,
  writeDetectorFolder,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
  writeLlamaFolder,
  writeBertFolder,
} from '@vmm/model-fixtures';
import { appMain, removeRedisPrefix, startProcess, startWorkerProcess, waitFor } from '@vmm/test-support';
import { pino } from 'pino';
import { type BatchRunner, createRunner } from '../src/index.js';

export const runnerMain = appMain.batchRunner;

export function writeModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-batch-'));
  writeLlamaFolder(join(dir, 'tiny-llama'));
  writeLlamaFolder(join(dir, 'heavy-llama'), { preset: 'medium' });
  writeDetectorFolder(join(dir, 'detector'));
  writeClassifierFolder(join(dir, 'classifier'));
  writeSegmenterFolder(join(dir, 'seg'));
  writePoseFolder(join(dir, 'pose'));
  writeMattingFolder(join(dir, 'matting'));
  writeBertFolder(join(dir, 'mini-embed'));
  return dir;
}

export function uniquePrefix(): string {
  return `vmm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export { startProcess };

export function startWorker(modelsDir: string, env: Record<string, string> = {}) {
  return startWorkerProcess(modelsDir, env);
}

/** Uploaded files' bytes: a directory of this test file's own, removed when it ends. */
function filesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-files-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function startGateway(
  workerPort: number,
  prefix: string,
  redisUrl = 'redis://127.0.0.1:6379',
  redisAnswers = true,
): Promise<{ gateway: Gateway; url: string }> {
  const gateway = createGateway(
    {
      ...loadConfig({}),
      host: '127.0.0.1',
      port: 0,
      workers: [{ backend: 'cpu', address: `127.0.0.1:${workerPort}` }],
      preference: ['cpu'],
      apiKeys: [],
      pollIntervalMs: 200,
      maxBodyBytes: 8 * 1024 * 1024,
      redisUrl,
      batchPrefix: prefix,
      batchTtlMs: 3_600_000,
      batchMaxItems: 100,
      batchMaxBytes: 8 * 1024 * 1024,
      filesStore: { kind: 'disk', dir: filesDir() },
      shutdownGraceMs: 0,
      logLevel: 'silent',
    },
    pino({ level: 'silent' }),
  );
  const port = await gateway.listen('127.0.0.1', 0);
  // Wait for the Redis connection: batch routes answer 503 until it is ready.
  if (redisAnswers)
    await waitFor(
      'the gateway’s Redis connection',
      async () => (await fetch(`http://127.0.0.1:${port}/v1/batches`)).status !== 503,
      { timeoutMs: 20_000 },
    );
  return { gateway, url: `http://127.0.0.1:${port}` };
}

export function runnerConfig(
  workerPort: number,
  prefix: string,
  redisUrl = 'redis://127.0.0.1:6379',
  concurrency = 2,
) {
  return {
    redisUrl,
    workers: [{ backend: 'cpu' as const, address: `127.0.0.1:${workerPort}` }],
    preference: ['cpu' as const],
    prefix,
    concurrency,
    lockMs: 2000,
    ttlMs: 3_600_000,
    pollIntervalMs: 200,
    workerToken: undefined,
    workerTlsCa: undefined,
    logLevel: 'silent' as const,
  };
}

export function startRunner(
  workerPort: number,
  prefix: string,
  redisUrl?: string,
  concurrency?: number,
): Promise<BatchRunner> {
  return createRunner(runnerConfig(workerPort, prefix, redisUrl, concurrency), pino({ level: 'silent' }));
}

export interface BatchJson {
  id: string;
  status: string;
  request_counts: { total: number; completed: number; failed: number };
}

export async function waitForStatus(
  url: string,
  id: string,
  statuses: string[],
  timeoutMs = 60_000,
): Promise<BatchJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/v1/batches/${id}`).catch(() => undefined);
    // 503 while Redis is away (a restart test): keep waiting.
    const batch = response?.ok ? ((await response.json()) as BatchJson) : undefined;
    if (batch && statuses.includes(batch.status)) return batch;
    if (Date.now() > deadline)
      throw new Error(
        `batch ${id} is still ${batch?.status ?? 'unreadable'}: ${JSON.stringify(batch?.request_counts)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function results(
  url: string,
  id: string,
): Promise<
  {
    custom_id: string;
    response: { status_code: number; body: Record<string, unknown> } | null;
    error: { code: string } | null;
  }[]
> {
  const text = await (await fetch(`${url}/v1/batches/${id}/results`)).text();
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Deletes every key a test created under its prefix. */
export const removePrefix = removeRedisPrefix;
