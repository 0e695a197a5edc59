// Real worker processes on loopback and an in-process gateway in front of them.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeClassifierFolder, writeDetectorFolder, writeLlamaFolder } from '@vmm/model-fixtures';
import { pino } from 'pino';
import { createGateway, type Gateway, type GatewayConfig } from '../src/index.js';

const workerMain = fileURLToPath(new URL('../../worker/dist/main.js', import.meta.url));

export function writeModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-gateway-'));
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

export interface WorkerProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

export function startWorker(modelsDir: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [workerMain], {
    env: {
      PATH: process.env.PATH,
      VMM_MODELS_DIR: modelsDir,
      VMM_GRPC_HOST: '127.0.0.1',
      VMM_GRPC_PORT: '0',
      VMM_THREADS: '1',
      LOG_LEVEL: 'warn',
      VMM_SHUTDOWN_GRACE_MS: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /listening on [\d.]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]), exited });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`worker exited ${code}: ${output}`)));
  });
}

export function gatewayConfig(
  workers: { backend: 'cpu' | 'cuda' | 'openvino'; port: number }[],
  overrides: Partial<GatewayConfig> = {},
): GatewayConfig {
  return {
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
  return { gateway, url: `http://127.0.0.1:${port}`, close: () => gateway.close() };
}

export async function stopWorker(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  await worker.exited;
}

export function removeModels(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
