// Real worker processes on loopback and an in-process gateway in front of them.
import { afterAll, beforeAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  writeBertFolder,
  writeClassifierFolder,
  writeDetectorFolder,
  writeLlamaFolder,
} from '@vmm/model-fixtures';
import { removeRedisPrefix, startWorkerProcess, waitFor } from '@vmm/test-support';
import { pino } from 'pino';
import { createGateway, loadConfig, type Gateway, type GatewayConfig } from '../src/index.js';

export function writeModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-gateway-'));
  writeLlamaFolder(join(dir, 'tiny-llama'));
  writeLlamaFolder(join(dir, 'heavy-llama'), { preset: 'medium' });
  writeDetectorFolder(join(dir, 'detector'));
  writeClassifierFolder(join(dir, 'classifier'));
  writeBertFolder(join(dir, 'mini-embed'));
  return dir;
}

export type WorkerProcess = Awaited<ReturnType<typeof startWorkerProcess>>;

export function startWorker(modelsDir: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return startWorkerProcess(modelsDir, env);
}

export function gatewayConfig(
  workers: { backend: 'cpu' | 'cuda' | 'openvino'; port: number }[],
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  return {
    ...loadConfig({}),
    host: '127.0.0.1',
    port: 0,
    workers: workers.map((worker) => ({ backend: worker.backend, address: `127.0.0.1:${worker.port}` })),
    preference: ['cuda', 'openvino', 'cpu'],
    apiKeys: [],
    pollIntervalMs: 200,
    maxBodyBytes: 8 * 1024 * 1024,
    redisUrl: 'redis://127.0.0.1:6379',
    batchPrefix: `vmm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    batchTtlMs: 3_600_000,
    batchMaxItems: 100,
    batchMaxBytes: 8 * 1024 * 1024,
    // Each gateway its own directory of uploaded files, removed when it closes.
    filesStore: { kind: 'disk', dir: mkdtempSync(join(tmpdir(), 'vmm-files-')) },
    shutdownGraceMs: 0,
    logLevel: 'silent',
    ...overrides,
  };
}

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const gateway = createGateway(config, pino({ level: 'silent' }));
  const port = await gateway.listen('127.0.0.1', 0);
  return {
    gateway,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await gateway.close();
      await removeRedisPrefix(config.batchPrefix, config.redisUrl).catch(() => undefined);
      if (config.filesStore.kind === 'disk') rmSync(config.filesStore.dir, { recursive: true, force: true });
    },
  };
}

export async function stopWorker(worker: WorkerProcess): Promise<void> {
  await worker.stop();
}

export function removeModels(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A worker's environment, or one computed from the workers started before it. */
export type WorkerEnv = Record<string, string> | ((started: WorkerProcess[]) => Record<string, string>);

/**
 * For the calling test file: fixture models and one worker per `envs` entry (one plain worker
 * when none is given), started in order before the tests and stopped, models removed, after
 * them. The array fills when the tests start.
 */
export function useWorkers(...envs: WorkerEnv[]): WorkerProcess[] {
  const modelsDir = writeModels();
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    for (const env of envs.length > 0 ? envs : [{}])
      workers.push(await startWorker(modelsDir, typeof env === 'function' ? env(workers) : env));
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    removeModels(modelsDir);
  });
  return workers;
}

/** For the calling test file: one worker process on a models directory of its own, written by `write`. */
export function useWorkerOn(write: (dir: string) => void, env: Record<string, string> = {}): WorkerProcess[] {
  const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-gateway-own-'));
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    write(modelsDir);
    workers.push(await startWorker(modelsDir, env));
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    removeModels(modelsDir);
  });
  return workers;
}

/** For the calling test file: a gateway started before the tests (config read then), closed after. */
export function useGateway(
  config: () => GatewayConfig,
  { waitForWorkers = true }: { waitForWorkers?: boolean } = {},
): RunningGateway {
  let running: RunningGateway | undefined;
  beforeAll(async () => {
    running = await startGateway(config());
    if (!waitForWorkers) return;
    // The first poll may miss a worker still busy starting on a loaded machine: tests begin
    // once every worker answers, rather than on that first poll's luck.
    const pool = running.gateway.pool;
    await waitFor(
      'every worker to answer the gateway’s poll',
      async () => {
        await pool.pollAll();
        return pool.states().every((state) => state.up);
      },
      { timeoutMs: 30_000 },
    );
  });
  afterAll(async () => {
    await running?.close();
  });
  const current = () => {
    if (!running) throw new Error('the gateway starts in beforeAll');
    return running;
  };
  return {
    get gateway() {
      return current().gateway;
    },
    get url() {
      return current().url;
    },
    close: () => current().close(),
  };
}

/** The gateway config for these workers, each a CPU worker. */
export const cpuWorkers = (workers: WorkerProcess[]) =>
  workers.map((worker) => ({ backend: 'cpu' as const, port: worker.port }));
