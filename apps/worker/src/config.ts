import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadEnv } from '@vmm/app-config';
import { z } from 'zod';
import { parseDuration, parsePositiveDuration } from '@vmm/duration';
import { defaultHubTimeouts, type HubTimeouts } from '@vmm/model-store';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  // Loopback unless told otherwise: the worker's port runs models and unloads them for anyone
  // who reaches it. Compose and Kubernetes set 0.0.0.0 and keep the port on an internal network.
  VMM_GRPC_HOST: z.string().min(1).default('127.0.0.1'),
  VMM_GRPC_PORT: int(0, 65535).default(50051),
  VMM_BACKEND: z.enum(['cpu', 'cuda', 'openvino']).default('cpu'),
  VMM_DEVICE_ID: int(0).default(0),
  VMM_OPENVINO_DEVICE: z.enum(['CPU', 'GPU', 'AUTO']).default('AUTO'),
  VMM_THREADS: int(1, 1024).optional(),
  VMM_THREAD_HEAP_MB: int(64, 65536).optional(),
  // A model thread silent this long outside a native run is stuck in JavaScript: it is ended
  // and replaced. A native run (session.run, a load) pending VMM_RUN_TIMEOUT never returns:
  // the worker kills itself (SIGKILL) for its supervisor to start it afresh.
  VMM_THREAD_STALL_TIMEOUT: z.string().default('30s'),
  VMM_RUN_TIMEOUT: z.string().default('10m'),
  VMM_MODELS_DIR: z.string().min(1).default('./models'),
  VMM_KEEP_ALIVE: z.string().default('5m'),
  VMM_MAX_LOADED_MODELS: int(1, 1000).default(3),
  VMM_MAX_RUNNING: int(1, 1000).default(2),
  VMM_MAX_QUEUE: int(0, 100_000).default(16),
  VMM_MAX_BATCH: int(1, 256).default(8),
  VMM_KV_CACHE_MB: int(1, 1024 * 1024).default(1024),
  VMM_PREFILL_CHUNK: int(1, 65_536).default(256),
  VMM_PREFIX_CACHE: z.enum(['on', 'off']).default('on'),
  // LLM decode through ONNX Runtime's C API (the KV cache written in place); `off` keeps
  // onnxruntime-node's session.run, the path that copies the new rows out.
  VMM_ORT_C_API: z.enum(['on', 'off']).default('on'),
  VMM_MAX_MESSAGE_BYTES: int(1024).default(32 * 1024 * 1024),
  VMM_MAX_IMAGE_PIXELS: int(1).default(40_000_000),
  VMM_MAX_CHAT_IMAGES: int(1, 1000).default(8),
  VMM_VISION_MAX_BATCH: int(1, 256).default(8),
  // Vision images prepared on a thread of their own while a run goes on: `auto` on a GPU
  // backend (its run leaves the CPU cores free), not on the CPU (measured no better there).
  VMM_VISION_PREPROCESS_THREAD: z.enum(['auto', 'on', 'off']).default('auto'),
  // Narrow lanes for a CPU vision model of a fixed batch of 1 (VisionRunner's `lanes`); 1: off.
  VMM_VISION_LANES: int(1, 64).default(2),
  VMM_EMBED_MAX_BATCH: int(1, 1024).default(32),
  VMM_ALLOW_FALLBACK: z.enum(['', 'cpu']).default(''),
  VMM_SHUTDOWN_GRACE_MS: int(0).default(10_000),
  VMM_GRPC_MAX_CONNECTION_AGE: z.string().default('5m'),
  VMM_WORKER_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  VMM_GRPC_TLS_CERT: z.string().min(1).optional(),
  VMM_GRPC_TLS_KEY: z.string().min(1).optional(),
  // Prometheus metrics on a port of their own (GET /metrics); `off` serves none, 0 picks one.
  VMM_METRICS_PORT: z.union([z.literal('off'), int(0, 65535)]).default(9464),
  VMM_METRICS_HOST: z.string().min(1).optional(),
  // Pulls from the Hugging Face Hub: its address (a mirror, or a local fake in tests) and token.
  HF_ENDPOINT: z.string().url().default('https://huggingface.co'),
  HF_TOKEN: z.string().min(1).optional(),
  VMM_PULL_MAX_BYTES: int(1).default(64 * 2 ** 30),
  VMM_MAX_PULLS: int(1, 64).default(2),
  // How long a pull waits on the Hub: to connect, for an answer's headers, for a body's next bytes.
  // (The defaults are the model store's own.)
  VMM_PULL_CONNECT_TIMEOUT: z.string().default(`${defaultHubTimeouts.connectMs}ms`),
  VMM_PULL_HEADERS_TIMEOUT: z.string().default(`${defaultHubTimeouts.headersMs}ms`),
  VMM_PULL_IDLE_TIMEOUT: z.string().default(`${defaultHubTimeouts.idleMs}ms`),
  VMM_MAX_BLOB_BYTES: int(1).default(64 * 2 ** 30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The environment variables this app reads (deployment files are checked against them). */
export const configKeys: readonly string[] = Object.keys(schema.shape);

export interface WorkerConfig {
  host: string;
  port: number;
  backend: 'cpu' | 'cuda' | 'openvino';
  deviceId: number;
  openvinoDevice: 'CPU' | 'GPU' | 'AUTO';
  /** Intra-op threads per session. */
  threads: number;
  /** The most V8 heap (MiB) one model's thread may hold; past it the thread is replaced. */
  threadHeapMb: number | undefined;
  /** The model threads' watchdog (ms): silence outside a native run, and a native run's bound. */
  threadStallMs: number;
  runTimeoutMs: number;
  modelsDir: string;
  /** Default keep-alive in ms: 0 unloads after each request, negative keeps forever. */
  keepAliveMs: number;
  maxLoadedModels: number;
  /** Per model: requests running at once, and waiting beyond those. */
  maxRunning: number;
  maxQueue: number;
  /** Per text model: sequences decoded together (continuous batching). */
  maxBatch: number;
  /** Per text model: the KV cache's memory budget in bytes. */
  kvCacheBytes: number;
  /** Prompt tokens prefilled per pass while other sequences decode. */
  prefillChunk: number;
  /** Keep finished sequences' KV caches for follow-ups that start the same way. */
  prefixCache: boolean;
  /** Decoders run through ONNX Runtime's C API with I/O binding where they can (VMM_ORT_C_API). */
  ortCApi: boolean;
  maxMessageBytes: number;
  maxImagePixels: number;
  /** Pictures one chat or generate request may send a vision-language model. */
  maxChatImages: number;
  visionMaxBatch: number;
  /** Prepare vision images on their own thread: true, false, or undefined (VisionRunner's default). */
  visionPreprocessThread: boolean | undefined;
  /** Lanes of a CPU vision model of a fixed batch of 1 once its requests queue (VisionRunner's `lanes`). */
  visionLanes: number;
  /** Inputs per embedding-model run. */
  embeddingMaxBatch: number;
  allowFallback: 'cpu' | undefined;
  shutdownGraceMs: number;
  /**
   * After this long a client connection is asked to go away (its calls still finish), so that
   * clients resolve the address again and find workers added since; 0 or less: never.
   */
  maxConnectionAgeMs: number;
  /** When set, every call but health checks must carry `authorization: Bearer <token>`. */
  workerToken: string | undefined;
  /** PEM files of the server's certificate and key: gRPC over TLS when both are set. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Hugging Face Hub pulls: address, token (never logged), bytes per pull, pulls at once. */
  hub: {
    endpoint: string;
    token: string | undefined;
    maxBytes: number;
    maxPulls: number;
    timeouts: HubTimeouts;
  };
  /** Where GET /metrics is served; undefined: nowhere. The host defaults to the gRPC host. */
  metrics: { host: string; port: number } | undefined;
  /** The largest file `/api/blobs` may store. */
  maxBlobBytes: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
}

/** Reads and validates the worker's environment once; the result is frozen. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<WorkerConfig> {
  return loadEnv(schema, env, (e) => ({
    host: e.VMM_GRPC_HOST,
    port: e.VMM_GRPC_PORT,
    backend: e.VMM_BACKEND,
    deviceId: e.VMM_DEVICE_ID,
    openvinoDevice: e.VMM_OPENVINO_DEVICE,
    threads: e.VMM_THREADS ?? availableParallelism(),
    threadHeapMb: e.VMM_THREAD_HEAP_MB,
    threadStallMs: parsePositiveDuration(e.VMM_THREAD_STALL_TIMEOUT, 'VMM_THREAD_STALL_TIMEOUT'),
    runTimeoutMs: parsePositiveDuration(e.VMM_RUN_TIMEOUT, 'VMM_RUN_TIMEOUT'),
    modelsDir: resolve(e.VMM_MODELS_DIR),
    keepAliveMs: parseDuration(e.VMM_KEEP_ALIVE, 'VMM_KEEP_ALIVE'),
    maxLoadedModels: e.VMM_MAX_LOADED_MODELS,
    maxRunning: e.VMM_MAX_RUNNING,
    maxQueue: e.VMM_MAX_QUEUE,
    maxBatch: e.VMM_MAX_BATCH,
    kvCacheBytes: e.VMM_KV_CACHE_MB * 2 ** 20,
    prefillChunk: e.VMM_PREFILL_CHUNK,
    prefixCache: e.VMM_PREFIX_CACHE === 'on',
    ortCApi: e.VMM_ORT_C_API === 'on',
    maxMessageBytes: e.VMM_MAX_MESSAGE_BYTES,
    maxImagePixels: e.VMM_MAX_IMAGE_PIXELS,
    maxChatImages: e.VMM_MAX_CHAT_IMAGES,
    visionMaxBatch: e.VMM_VISION_MAX_BATCH,
    visionPreprocessThread:
      e.VMM_VISION_PREPROCESS_THREAD === 'auto' ? undefined : e.VMM_VISION_PREPROCESS_THREAD === 'on',
    visionLanes: e.VMM_VISION_LANES,
    embeddingMaxBatch: e.VMM_EMBED_MAX_BATCH,
    allowFallback: e.VMM_ALLOW_FALLBACK === 'cpu' ? 'cpu' : undefined,
    shutdownGraceMs: e.VMM_SHUTDOWN_GRACE_MS,
    maxConnectionAgeMs: parseDuration(e.VMM_GRPC_MAX_CONNECTION_AGE, 'VMM_GRPC_MAX_CONNECTION_AGE'),
    workerToken: e.VMM_WORKER_TOKEN,
    tls: tlsFiles(e.VMM_GRPC_TLS_CERT, e.VMM_GRPC_TLS_KEY),
    hub: {
      endpoint: e.HF_ENDPOINT,
      token: e.HF_TOKEN,
      maxBytes: e.VMM_PULL_MAX_BYTES,
      maxPulls: e.VMM_MAX_PULLS,
      timeouts: {
        connectMs: parsePositiveDuration(e.VMM_PULL_CONNECT_TIMEOUT, 'VMM_PULL_CONNECT_TIMEOUT'),
        headersMs: parsePositiveDuration(e.VMM_PULL_HEADERS_TIMEOUT, 'VMM_PULL_HEADERS_TIMEOUT'),
        idleMs: parsePositiveDuration(e.VMM_PULL_IDLE_TIMEOUT, 'VMM_PULL_IDLE_TIMEOUT'),
      },
    },
    maxBlobBytes: e.VMM_MAX_BLOB_BYTES,
    metrics:
      e.VMM_METRICS_PORT === 'off'
        ? undefined
        : { host: e.VMM_METRICS_HOST ?? e.VMM_GRPC_HOST, port: e.VMM_METRICS_PORT },
    logLevel: e.LOG_LEVEL,
  }));
}

function tlsFiles(certFile: string | undefined, keyFile: string | undefined): WorkerConfig['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new Error('VMM_GRPC_TLS_CERT and VMM_GRPC_TLS_KEY go together: set both or neither');
  return { certFile, keyFile };
}
