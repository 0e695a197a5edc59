import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { InferenceService, ModelsService, protoFiles, protoRoot } from '@vmm/proto';
import { HealthImplementation, protoPath as healthProto } from 'grpc-health-check';
import { boundSessionsUnavailable } from '@vmm/runtime';
import type { Logger } from 'pino';
import type { WorkerConfig } from './config.js';
import { createInferenceService } from './inference-service.js';
import { ModelManager } from './model-manager.js';
import { openRunner } from './model-runner.js';
import { createModelsService, describeDevice } from './models-service.js';
import { createStoreService } from './store-service.js';
import { createWorkerMetrics, serveMetrics, type WorkerMetrics } from './worker-metrics.js';
import { backendToProto } from './proto-mapping.js';
import { guardDecoding } from './decode-guard.js';
import { requireWorkerToken } from './worker-token.js';
import { resolveBackend, type ResolvedBackend } from './resolve-backend.js';

export const WORKER_VERSION = '0.1.0';
const SERVICES = ['', 'vmm.v1.Inference', 'vmm.v1.Models'];

export interface Worker {
  readonly server: Server;
  readonly manager: ModelManager;
  readonly backend: ResolvedBackend;
  /** The worker's Prometheus series (served by listenMetrics). */
  readonly metrics: WorkerMetrics;
  /** Binds and starts serving; returns the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Serves GET /metrics on a port of its own; returns the bound port. */
  listenMetrics(host: string, port: number): Promise<number>;
  /**
   * Health goes NOT_SERVING, new calls are refused, in-flight calls get `graceMs` to finish and
   * are then cancelled; sessions are released.
   */
  shutdown(graceMs: number): Promise<void>;
  /**
   * Calls `listener` when the worker cannot go on (a model's native run stuck past
   * VMM_RUN_TIMEOUT, which no thread can be freed from): main.ts exits for the supervisor to
   * start the worker afresh.
   */
  onFatal(listener: (reason: string) => void): void;
}

/** Builds the worker: backend proven, services wired; main.ts alone decides where it listens. */
export async function createWorker(config: Readonly<WorkerConfig>, logger: Logger): Promise<Worker> {
  const backend = await resolveBackend(config, logger);
  const session = {
    backend: backend.backend,
    deviceId: config.deviceId,
    openvinoDevice: config.openvinoDevice,
    intraOpThreads: config.threads,
    threadHeapMb: config.threadHeapMb,
    ortCApi: config.ortCApi,
  };
  const unbound = boundSessionsUnavailable(session);
  // Said once at start: decoders then copy their new KV rows out at every step (slower at length).
  if (config.ortCApi && backend.backend === 'cpu' && unbound) {
    logger.warn({ reason: unbound }, "LLM decode falls back to onnxruntime-node's session.run");
  }
  // The manager reports loads to the metrics, which read the manager (called only after both exist).
  const fatalListeners: ((reason: string) => void)[] = [];
  const manager: ModelManager = new ModelManager({
    watchdog: {
      intervalMs: Math.min(5000, Math.max(50, Math.floor(config.threadStallMs / 4))),
      unresponsiveMs: config.threadStallMs,
      runTimeoutMs: config.runTimeoutMs,
      onStuckRun: (name, runMs) => {
        const reason = `a run of "${name}" has not returned in ${Math.round(runMs / 1000)} s (VMM_RUN_TIMEOUT ${config.runTimeoutMs / 1000} s); a thread cannot be freed from a native run, so the worker ends itself to be started afresh`;
        for (const listener of fatalListeners) listener(reason);
      },
    },
    onLoaded: (name, seconds) => workerMetrics.loaded(name, seconds),
    onLost: (name, error) =>
      logger.warn(
        { model: name, reason: error.message },
        'model thread died; loaded again on its next request',
      ),
    modelsDir: config.modelsDir,
    backend: backend.backend,
    keepAliveMs: config.keepAliveMs,
    maxLoaded: config.maxLoadedModels,
    maxRunning: config.maxRunning,
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    open: (folder, file) =>
      openRunner(folder, file, {
        session,
        visionMaxBatch: config.visionMaxBatch,
        visionPreprocessThread: config.visionPreprocessThread,
        visionLanes: config.visionLanes,
        embeddingMaxBatch: config.embeddingMaxBatch,
        maxImagePixels: config.maxImagePixels,
        maxChatImages: config.maxChatImages,
        batching: {
          maxBatch: config.maxBatch,
          kvBudgetBytes: config.kvCacheBytes,
          prefillChunk: config.prefillChunk,
          prefixReuse: config.prefixCache,
          // The worker's queue holds the rest (VMM_MAX_QUEUE).
          maxWaiting: config.maxBatch,
        },
      }),
  });
  const workerMetrics: WorkerMetrics = createWorkerMetrics(manager, backend.backend);
  let metricsServer: { close(): Promise<void> } | undefined;
  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
    // GOAWAY after this age (calls in flight run to their end): clients re-resolve the address
    // and so spread over worker pods that a scale-up added.
    ...(config.maxConnectionAgeMs > 0 ? { 'grpc.max_connection_age_ms': config.maxConnectionAgeMs } : {}),
    interceptors: config.workerToken ? [requireWorkerToken(config.workerToken)] : [],
  });
  // Read once, before serving: a missing file is a start-up error, not a failed call.
  const serverCredentials = config.tls
    ? ServerCredentials.createSsl(null, [
        { cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) },
      ])
    : ServerCredentials.createInsecure();
  server.addService(
    ...guardDecoding(
      InferenceService,
      createInferenceService({
        manager,
        backend: backendToProto[backend.backend],
        logger,
        metrics: workerMetrics,
        maxImageBytes: config.maxMessageBytes,
      }),
    ),
  );
  server.addService(
    ...guardDecoding(ModelsService, {
      ...createModelsService({
        manager,
        modelsDir: config.modelsDir,
        backend: backend.backend,
        protoBackend: backendToProto[backend.backend],
        requestedBackend: backendToProto[backend.requested],
        providers: backend.providers,
        device: describeDevice(backend.backend, config.deviceId, config.openvinoDevice),
        threads: config.threads,
        maxLoaded: config.maxLoadedModels,
        maxRunning: config.maxRunning,
        maxQueue: config.maxQueue,
        version: WORKER_VERSION,
        logger,
      }),
      ...createStoreService({
        manager,
        modelsDir: config.modelsDir,
        backend: backend.backend,
        hub: config.hub,
        maxBlobBytes: config.maxBlobBytes,
        logger,
      }),
    }),
  );
  const health = new HealthImplementation(Object.fromEntries(SERVICES.map((name) => [name, 'NOT_SERVING'])));
  health.addToServer(server);
  // Reflection needs descriptors, not generated code: load the same .proto files, and health's
  // own, so reflection-driven tools (grpcurl, grpcui) can call the probe the cluster uses.
  const definition = loadSync([...protoFiles, healthProto], { includeDirs: [protoRoot], keepCase: true });
  new ReflectionService(definition).addToServer(server);

  return {
    server,
    manager,
    backend,
    metrics: workerMetrics,
    onFatal(listener) {
      fatalListeners.push(listener);
    },
    async listenMetrics(host, port) {
      const served = await serveMetrics(workerMetrics.registry, host, port);
      metricsServer = served;
      return served.port;
    },
    async listen(host, port) {
      const bound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${host}:${port}`, serverCredentials, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
      for (const name of SERVICES) health.setStatus(name, 'SERVING');
      logger.info(
        { host, port: bound, backend: backend.backend, requested: backend.requested },
        'worker listening',
      );
      return bound;
    },
    async shutdown(graceMs) {
      for (const name of SERVICES) health.setStatus(name, 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ graceMs }, 'grace period over; cancelling in-flight calls');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await manager.close();
      await metricsServer?.close();
      logger.info('worker stopped');
    },
  };
}
