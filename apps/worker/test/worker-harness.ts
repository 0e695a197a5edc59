// Starts a real worker on 127.0.0.1:0 with fixture models, and gives typed clients for it.
import { credentials, makeClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeClassifierFolder, writeDetectorFolder, writeLlamaFolder } from '@vmm/model-fixtures';
import { defaultHubTimeouts } from '@vmm/model-store';
import { InferenceClient, ModelsClient, type WorkerInfoResponse } from '@vmm/proto';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { createWorker, type Worker, type WorkerConfig } from '../src/index.js';

/** A models directory: tiny-llama, heavy-llama (slow enough to observe), a detector, a classifier. */
export function writeModels(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-worker-'));
  writeLlamaFolder(join(dir, 'tiny-llama'));
  writeLlamaFolder(join(dir, 'heavy-llama'), { preset: 'medium' });
  writeDetectorFolder(join(dir, 'detector'));
  writeClassifierFolder(join(dir, 'classifier'));
  return dir;
}

export function baseConfig(modelsDir: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    backend: 'cpu',
    deviceId: 0,
    openvinoDevice: 'AUTO',
    threads: 1,
    threadHeapMb: undefined,
    threadStallMs: 30_000,
    runTimeoutMs: 600_000,
    modelsDir,
    keepAliveMs: 300_000,
    maxLoadedModels: 4,
    maxRunning: 2,
    maxQueue: 4,
    maxBatch: 2,
    kvCacheBytes: 256 * 2 ** 20,
    prefillChunk: 32,
    prefixCache: true,
    ortCApi: true,
    maxMessageBytes: 32 * 1024 * 1024,
    maxImagePixels: 40_000_000,
    maxChatImages: 8,
    visionMaxBatch: 4,
    visionPreprocessThread: undefined,
    visionLanes: 2,
    embeddingMaxBatch: 4,
    allowFallback: undefined,
    shutdownGraceMs: 1000,
    maxConnectionAgeMs: 0,
    workerToken: undefined,
    tls: undefined,
    // Nothing is pulled in these tests: a closed port, should anything try.
    hub: {
      endpoint: 'http://127.0.0.1:9',
      token: undefined,
      maxBytes: 2 ** 30,
      maxPulls: 2,
      timeouts: { ...defaultHubTimeouts },
    },
    maxBlobBytes: 2 ** 30,
    metrics: undefined,
    logLevel: 'silent',
    ...overrides,
  };
}

export interface Running {
  worker: Worker;
  port: number;
  inference: InferenceClient;
  models: ModelsClient;
  health: Client & {
    check(
      request: { service: string },
      callback: (error: ServiceError | null, response?: { status: string }) => void,
    ): void;
  };
  workerInfo(): Promise<WorkerInfoResponse>;
  close(): Promise<void>;
}

export async function startWorker(config: WorkerConfig): Promise<Running> {
  const worker = await createWorker(config, pino({ level: 'silent' }));
  const port = await worker.listen(config.host, 0);
  const address = `127.0.0.1:${port}`;
  const inference = new InferenceClient(address, credentials.createInsecure());
  const models = new ModelsClient(address, credentials.createInsecure());
  const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
  const health = new Health(address, credentials.createInsecure()) as unknown as Running['health'];
  return {
    worker,
    port,
    inference,
    models,
    health,
    workerInfo: () =>
      new Promise((resolve, reject) =>
        models.workerInfo({}, (error, response) => (error ? reject(error) : resolve(response))),
      ),
    async close() {
      inference.close();
      models.close();
      health.close();
      await worker.shutdown(0);
    },
  };
}

export function removeModels(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
