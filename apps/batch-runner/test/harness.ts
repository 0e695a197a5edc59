// Worker processes, an in-process gateway and batch runners (in-process or as processes) on a
// Redis key prefix of their own.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGateway, type Gateway } from '@vmm/gateway';
import { writeClassifierFolder, writeDetectorFolder, writeLlamaFolder } from '@vmm/model-fixtures';
import { pino } from 'pino';
import { type BatchRunner, createRunner } from '../src/index.js';

const workerMain = fileURLToPath(new URL('../../worker/dist/main.js', import.meta.url));
export const runnerMain = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function writeModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-batch-'));
  writeLlamaFolder(join(dir, 'tiny-llama'));
  writeLlamaFolder(join(dir, 'heavy-llama'), {
    shape: {
      hiddenSize: 384,
      intermediateSize: 1024,
      numLayers: 4,
      numHeads: 6,
      numKvHeads: 2,
      vocabSize: 4000,
      maxPositions: 2048,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
    },
  });
  writeDetectorFolder(join(dir, 'detector'));
  writeClassifierFolder(join(dir, 'classifier'));
  return dir;
}

export function uniquePrefix(): string {
  return `vmm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Starts a process and resolves once its output matches `ready`. */
export function startProcess(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match, exited });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`${script} exited ${code}: ${output}`)));
  });
}

export async function startWorker(modelsDir: string, env: Record<string, string> = {}) {
  const started = await startProcess(
    workerMain,
    {
      VMM_MODELS_DIR: modelsDir,
      VMM_GRPC_HOST: '127.0.0.1',
      VMM_GRPC_PORT: '0',
      VMM_THREADS: '1',
      VMM_SHUTDOWN_GRACE_MS: '200',
      ...env,
    },
    /listening on [\d.]+:(\d+)/,
  );
  return { ...started, port: Number(started.match[1]) };
}

export async function startGateway(
  workerPort: number,
  prefix: string,
  redisUrl = 'redis://127.0.0.1:6379',
  maxItems = 100,
): Promise<{ gateway: Gateway; url: string }> {
  const gateway = createGateway(
    {
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
      batchMaxItems: maxItems,
      batchMaxBytes: 8 * 1024 * 1024,
      logLevel: 'silent',
    },
    pino({ level: 'silent' }),
  );
  const port = await gateway.listen('127.0.0.1', 0);
  // Wait for the Redis connection: batch routes answer 503 until it is ready.
  for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${port}/v1/batches`)).status === 503; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
export async function removePrefix(prefix: string, redisUrl = 'redis://127.0.0.1:6379'): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
