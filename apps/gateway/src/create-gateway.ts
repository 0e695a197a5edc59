import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import { BatchService, DiskFileContent, type FileContent, FileStore, S3FileContent } from '@vmm/batch';
import { WorkerPool } from '@vmm/worker-pool';
import { Redis } from 'ioredis';
import { redactUrl } from '@vmm/app-config';
import type { Logger } from 'pino';
import { requireApiKey } from './auth.js';
import { dashboardFiles } from './dashboard-files.js';
import { browserGuard } from './browser-guard.js';
import { jsonContentType } from './content-type.js';
import { inFlightLimit } from './in-flight-limit.js';
import { RedisHealth } from './redis-health.js';
import type { FilesStoreConfig, GatewayConfig } from './config.js';
import { sendError, shapeForPath } from './error-shapes.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { ollamaRouter } from './routes/ollama.js';
import { modelsRouter } from './routes/models.js';
import { batchRouter } from './routes/batches.js';
import { filesRouter } from './routes/files.js';
import { TransferSlots } from './transfer-slots.js';
import { describeSupervised, SupervisorView } from './supervisor-view.js';
import { openaiRouter } from './routes/openai.js';
import { responsesRouter } from './routes/responses.js';
import { visionRouter } from './routes/vision.js';

export const GATEWAY_VERSION = '0.1.0';

export interface Gateway {
  app: express.Express;
  pool: WorkerPool;
  metrics: Metrics;
  /** Polls the workers once, then listens; returns the bound port. */
  listen(host: string, port: number): Promise<number>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs`, ends what
   * is left, then stops polling the workers.
   */
  close(graceMs?: number): Promise<void>;
}

/** Builds the gateway (express app + worker pool); main.ts alone decides where it listens. */
export function createGateway(config: Readonly<GatewayConfig>, logger: Logger, pool?: WorkerPool): Gateway {
  const workers =
    pool ??
    new WorkerPool({
      workers: config.workers,
      preference: config.preference,
      pollIntervalMs: config.pollIntervalMs,
      token: config.workerToken,
      tlsCa: config.workerTlsCa === undefined ? undefined : readFileSync(config.workerTlsCa),
    });
  // Batch support: a Redis connection that fails fast while Redis is away (routes answer 503)
  // and reconnects in the background, and whose every command is bounded in time: a Redis that
  // is stopped, not down, keeps its connection open and answers nothing.
  const redis = new Redis(config.redisUrl, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.redisTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', (error) => logger.debug({ err: error.message }, 'redis unavailable'));
  const redisHealth = new RedisHealth(redis, redactUrl(config.redisUrl), config.redisTimeoutMs);
  const batchService = new BatchService({
    redis,
    prefix: config.batchPrefix,
    ttlMs: config.batchTtlMs,
    onError: (error) => logger.debug({ err: error.message }, 'batch queue connection error'),
  });
  const fileStore = new FileStore({
    redis,
    prefix: config.batchPrefix,
    content: fileContent(config.filesStore),
    ttlMs: config.batchTtlMs,
    maxBytes: config.batchMaxBytes,
    maxFiles: config.maxFiles,
  });
  logger.info({ files: fileStore.where }, 'uploaded files are kept here (metadata in Redis)');
  const batches = { service: batchService, files: fileStore, health: redisHealth };
  const metrics = createMetrics(workers, () =>
    redisHealth.state() === 'ready' ? batchService.queueCounts() : Promise.resolve({}),
  );
  const deps = {
    pool: workers,
    metrics,
    logger,
    version: GATEWAY_VERSION,
    maxPromptBytes: config.maxPromptBytes,
    imageUrls: config.imageUrls,
  };
  const fail = (error: VmmError, req: express.Request, res: express.Response) =>
    sendError(res, error, shapeForPath(req.path), logger, String(res.locals.requestId));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('x-request-id', requestId);
    // Every answer, errors and uploads' echoes included: a browser must take the declared type
    // (JSON, text, NDJSON) at its word, never sniff one out of a model's output.
    res.set('x-content-type-options', 'nosniff');
    const started = performance.now();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      metrics.latency.observe({ route, method: req.method }, (performance.now() - started) / 1000);
      logger.debug({ requestId, method: req.method, path: req.path, status: res.statusCode }, 'request');
    });
    next();
  });
  app.use(browserGuard({ origins: config.origins, bindHost: config.host, fail }));
  // Before the in-flight limit and the key check: the page's files hold no secret, and the page
  // asks for the key itself.
  app.use(dashboardFiles(config.dashboardDir, fail));
  // Ollama's root answer, for scripts that check the server is up (a browser got the dashboard).
  app.get('/', (_req, res) => void res.type('text/plain').send('VMM is running'));
  // Two budgets: files and batches (which wait on Redis) have their own, so that pollers of a
  // slow Redis never take the slots that generation needs. Probes and metrics are never refused.
  const fileOrBatch = (path: string) => path.startsWith('/v1/files') || path.startsWith('/v1/batches');
  const unlimited = new Set(['/healthz', '/readyz', '/metrics']);
  app.use(
    inFlightLimit(config.maxInFlight, (path) => !unlimited.has(path) && !fileOrBatch(path), 'requests', fail),
  );
  app.use(inFlightLimit(config.maxBatchInFlight, fileOrBatch, 'file and batch requests', fail));
  app.use(requireApiKey(config.apiKeys, fail));
  // Batches are JSONL text and vision takes multipart uploads: their routes read those bodies.
  const contentType = jsonContentType({
    passThrough: (path, type) =>
      path.startsWith('/v1/batches') ||
      path.startsWith('/api/blobs/') ||
      (path === '/v1/files' && type === 'multipart/form-data') ||
      (path.startsWith('/v1/vision/') && type === 'multipart/form-data'),
    // A vision body's base64 image is decoded and sent on as it arrives (routes/vision.ts).
    readsItself: (path) => path.startsWith('/v1/vision/'),
    fail,
  });
  app.use(contentType.check);
  app.use(express.json({ limit: config.maxBodyBytes, strict: false, type: contentType.readsJson }));

  // `auth` lets the dashboard ask for a key before its first call rather than after a 401.
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok', auth: config.apiKeys.length > 0 }));
  const supervisor = new SupervisorView(config.supervisorState);
  app.get('/readyz', (req, res) => {
    // Redis is said, not required: generation serves without it (files and batches answer 503).
    // Under vmm serve, what it is doing with each app (one being restarted, say) is said too.
    const supervisedApps = supervisor.apps();
    const apps = Object.fromEntries(
      Object.entries(supervisedApps).map(([name, entry]) => [name, entry.state]),
    );
    const supervised = Object.keys(apps).length > 0 ? { supervised: apps } : {};
    if (workers.ready())
      res.json({
        status: 'ready',
        workers: workers.states().filter((s) => s.up).length,
        redis: redisHealth.state(),
        ...supervised,
      });
    else {
      const restarting = workers.states().flatMap((state) => {
        const entry = SupervisorView.at(supervisedApps, state.address);
        return entry?.state === 'restarting'
          ? [`the ${state.backend} worker at ${state.address} is ${describeSupervised(entry)}`]
          : [];
      });
      sendError(
        res,
        new VmmError(
          ErrorCode.Unavailable,
          restarting.length > 0 ? `no worker is serving: ${restarting.join('; ')}` : 'no worker is serving',
          { retryAfterMs: restarting.length > 0 ? 1000 : 5000 },
        ),
        'vmm',
        logger,
        String(res.locals.requestId),
      );
    }
  });
  app.get('/metrics', (_req, res) => {
    void metrics.registry.metrics().then((text) => res.type(metrics.registry.contentType).send(text));
  });
  // Built on first request (zod → JSON Schema for every route), then served as it is.
  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', (_req, res) => void res.json((document ??= openApiDocument(GATEWAY_VERSION))));
  app.get('/v1/workers', (_req, res) => {
    const supervisedApps = supervisor.apps();
    res.json({
      workers: workers.states().map((state) => ({
        id: state.id,
        backend: state.backend,
        address: state.address,
        up: state.up,
        // Under vmm serve: running, restarting (with its restarts and last exit) or stopping.
        supervisor: SupervisorView.at(supervisedApps, state.address) ?? null,
        last_seen: state.lastSeenMs === undefined ? null : new Date(state.lastSeenMs).toISOString(),
        last_error: state.lastError ?? null,
        device: state.info?.device ?? null,
        providers: state.info?.providers ?? [],
        running: state.info?.running ?? 0,
        queued: state.info?.queued ?? 0,
        capacity: state.info?.capacity ?? 0,
        loaded_models: (state.info?.loadedModels ?? []).map((loaded) => loaded.model?.name),
        models: state.models.map((model) => model.name),
      })),
    });
  });
  app.use(ollamaRouter(deps));
  app.use(modelsRouter(deps));
  app.use(openaiRouter(deps));
  app.use(responsesRouter(deps));
  app.use(visionRouter({ ...deps, maxBodyBytes: config.maxBodyBytes }));
  const transfers = new TransferSlots(config.maxUploads);
  app.use(
    batchRouter({
      ...deps,
      batches,
      transfers,
      maxItems: config.batchMaxItems,
      maxBytes: config.batchMaxBytes,
    }),
  );
  app.use(
    filesRouter({
      ...deps,
      files: () => (redisHealth.check('files and batches'), fileStore),
      batches: () => (redisHealth.check('files and batches'), batchService),
      redisFailure: (error) => redisHealth.failure(error),
      transfers,
      maxBytes: config.batchMaxBytes,
    }),
  );

  app.use((req, res) => {
    sendError(
      res,
      // OpenAI's wording for a wrong route; not a missing model.
      new VmmError(ErrorCode.NotFound, `Invalid URL (${req.method} ${req.path})`, { reason: 'unknown_url' }),
      shapeForPath(req.path),
      logger,
      String(res.locals.requestId),
    );
  });
  const onError: ErrorRequestHandler = (
    error: { type?: string; status?: number; message?: string },
    req,
    res,
    _next,
  ) => {
    // body-parser's errors: malformed JSON, body too large, bad encoding.
    const vmmError =
      error.type === 'entity.too.large'
        ? new VmmError(
            ErrorCode.PayloadTooLarge,
            `the request body is larger than ${config.maxBodyBytes} bytes`,
            { field: 'body' },
          )
        : error.type === 'entity.parse.failed'
          ? new VmmError(
              ErrorCode.InvalidArgument,
              `the request body is not valid JSON: ${error.message ?? ''}`,
              { field: 'body' },
            )
          : typeof error.status === 'number' && error.status >= 400 && error.status < 500
            ? new VmmError(ErrorCode.InvalidArgument, error.message ?? 'bad request', { field: 'body' })
            : VmmError.from(error);
    sendError(res, vmmError, shapeForPath(req.path), logger, String(res.locals.requestId));
  };
  app.use(onError);

  let server: Server | undefined;
  return {
    app,
    pool: workers,
    metrics,
    async listen(host, port) {
      await workers.start();
      // Slow clients are cut: headers within headersTimeout, the whole body within
      // requestTimeout (responses, such as token streams, are not limited by it).
      const created = createServer(
        {
          headersTimeout: config.headersTimeoutMs,
          requestTimeout: Math.max(config.requestTimeoutMs, config.headersTimeoutMs),
          keepAliveTimeout: config.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs),
        },
        app,
      );
      server = await new Promise<Server>((resolve, reject) => {
        created.once('error', reject);
        created.listen(port, host, () => {
          created.off('error', reject);
          resolve(created);
        });
      });
      const address = server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    async close(graceMs = 0) {
      if (server) {
        const listening = server;
        const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
        // close() waits for every connection to end: keep-alive connections go idle once their
        // response is sent, and are closed then rather than when the client gives up.
        listening.closeIdleConnections();
        const idle = setInterval(() => listening.closeIdleConnections(), 50);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
        clearTimeout(timer);
        clearInterval(idle);
        listening.closeAllConnections();
        await closed;
      }
      // Only now: the streams that were let finish needed the workers' channels.
      workers.stop();
      redisHealth.close();
      await batchService.close().catch(() => undefined);
      redis.disconnect();
      logger.info('gateway stopped');
    },
  };
}

/** Where uploaded files' bytes go: a directory, or an S3-compatible object store. */
function fileContent(config: FilesStoreConfig): FileContent {
  if (config.kind === 'disk') return new DiskFileContent(config.dir);
  return new S3FileContent({
    url: config.url,
    endpoint: config.endpoint,
    region: config.region,
    credentials: config.credentials,
    timeoutMs: config.timeoutMs,
    createBucket: config.createBucket,
  });
}
