import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration, parsePositiveDuration } from '@vmm/duration';
import { parseBackendPreference, parseWorkers, type BackendName, type WorkerAddress } from '@vmm/worker-pool';
import { loadEnv } from '@vmm/app-config';
import { DEFAULT_MAX_PROMPT_BYTES } from '@vmm/http-api';
import { z } from 'zod';
import type { ImageUrlOptions } from './image-urls.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  // Loopback unless told otherwise, as Ollama: Compose and Kubernetes set 0.0.0.0.
  VMM_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  VMM_HTTP_PORT: int(0, 65535).default(8080),
  VMM_WORKERS: z.string().default('cpu=127.0.0.1:50051'),
  VMM_BACKEND_PREFERENCE: z.string().default('cuda,openvino,cpu'),
  VMM_API_KEYS: z.string().default(''),
  VMM_POLL_INTERVAL_MS: int(50).default(2000),
  VMM_MAX_BODY_BYTES: int(1024).default(32 * 1024 * 1024),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  // The longest any Redis command may take: past it, files and batches answer 503 (a Redis that
  // hangs, stopped or overloaded, costs a request this much at most, never a slot for ever).
  VMM_REDIS_TIMEOUT: z.string().default('2s'),
  VMM_BATCH_PREFIX: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('vmm'),
  VMM_BATCH_TTL: z.string().default('168h'),
  VMM_BATCH_MAX_ITEMS: int(1, 1_000_000).default(10_000),
  VMM_BATCH_MAX_BYTES: int(1024).default(100 * 1024 * 1024),
  VMM_FILES_MAX: int(1, 1_000_000).default(1000),
  VMM_MAX_UPLOADS: int(1, 1000).default(4),
  // Where uploaded files' bytes live (Redis keeps their metadata): a directory, or
  // s3://bucket/prefix for an S3-compatible object store shared by every gateway replica.
  VMM_FILES_STORE: z.string().min(1).default('./files'),
  VMM_S3_ENDPOINT: z.url().optional(),
  VMM_S3_REGION: z.string().min(1).default('us-east-1'),
  VMM_S3_TIMEOUT: z.string().default('30s'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  VMM_S3_CREATE_BUCKET: z.enum(['true', 'false']).default('false'),
  VMM_SHUTDOWN_GRACE_MS: int(0).default(30_000),
  VMM_ORIGINS: z.string().default(''),
  VMM_MAX_PROMPT_BYTES: int(1).default(DEFAULT_MAX_PROMPT_BYTES),
  VMM_ALLOW_IMAGE_URLS: z.enum(['true', 'false']).default('false'),
  VMM_IMAGE_URL_MAX_BYTES: int(1).default(20 * 1024 * 1024),
  VMM_IMAGE_URL_TIMEOUT: z.string().default('10s'),
  VMM_MAX_IN_FLIGHT: int(1, 100_000).default(256),
  VMM_MAX_BATCH_IN_FLIGHT: int(1, 100_000).default(32),
  VMM_HTTP_HEADERS_TIMEOUT_MS: int(1000).default(10_000),
  VMM_HTTP_REQUEST_TIMEOUT_MS: int(1000).default(60_000),
  VMM_HTTP_KEEP_ALIVE_TIMEOUT_MS: int(100).default(5_000),
  VMM_WORKER_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  VMM_WORKER_TLS_CA: z.string().min(1).optional(),
  // The dashboard's built files (apps/dashboard/dist beside this app by default); `off` serves none.
  VMM_DASHBOARD_DIR: z.string().min(1).optional(),
  // Written by `vmm serve`: what it is doing with each app (a worker being restarted, say).
  VMM_SUPERVISOR_STATE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The environment variables this app reads (deployment files are checked against them). */
export const configKeys: readonly string[] = Object.keys(schema.shape);

export interface GatewayConfig {
  host: string;
  port: number;
  workers: WorkerAddress[];
  preference: BackendName[];
  /** Bearer keys; empty means no authentication. */
  apiKeys: string[];
  pollIntervalMs: number;
  maxBodyBytes: number;
  /** Batch jobs: Redis, key prefix, retention, limits. */
  redisUrl: string;
  /** The longest a Redis command may take (ms). */
  redisTimeoutMs: number;
  batchPrefix: string;
  batchTtlMs: number;
  batchMaxItems: number;
  batchMaxBytes: number;
  /** Files (`/v1/files`) kept at once; each at most batchMaxBytes. */
  maxFiles: number;
  /** `/v1/files` uploads received at once; beyond it 429 before the body is read. */
  maxUploads: number;
  /** Where files' bytes live. */
  filesStore: FilesStoreConfig;
  /** On SIGTERM, how long requests in flight (token streams) may run before they are cut. */
  shutdownGraceMs: number;
  /** Browser origins allowed besides loopback ones (`*` wildcards); `*` alone allows all. */
  origins: string[];
  /** UTF-8 bytes of prompt, system prompt and messages together. */
  maxPromptBytes: number;
  /**
   * Remote `image_url`s in chat: fetched by the gateway within these bounds when
   * VMM_ALLOW_IMAGE_URLS is true; undefined (the default) refuses them (400).
   */
  imageUrls: ImageUrlOptions | undefined;
  /** Requests handled at once (health, readiness and metrics aside); beyond it 503. */
  maxInFlight: number;
  /**
   * `/v1/files` and `/v1/batches` requests handled at once, a budget of their own: pollers of a
   * slow Redis never take the slots that generation needs.
   */
  maxBatchInFlight: number;
  /** Node's server timeouts: headers, the whole request body, idle keep-alive. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Sent to the workers (VMM_WORKER_TOKEN); a PEM CA file for gRPC over TLS. */
  workerToken: string | undefined;
  workerTlsCa: string | undefined;
  /** The dashboard's static files, served at `/`; undefined serves none. */
  dashboardDir: string | undefined;
  /** The supervisor's state file (vmm serve), shown by /readyz and /v1/workers. */
  supervisorState: string | undefined;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
}

export type FilesStoreConfig =
  | { kind: 'disk'; dir: string }
  | {
      kind: 's3';
      url: string;
      endpoint: string | undefined;
      region: string;
      timeoutMs: number;
      createBucket: boolean;
      credentials:
        { accessKeyId: string; secretAccessKey: string; sessionToken: string | undefined } | undefined;
    };

function filesStore(e: z.infer<typeof schema>): FilesStoreConfig {
  if (!e.VMM_FILES_STORE.startsWith('s3://')) return { kind: 'disk', dir: resolve(e.VMM_FILES_STORE) };
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[\w./-]*)?$/.test(e.VMM_FILES_STORE))
    throw new Error(
      'VMM_FILES_STORE: an s3:// address is s3://bucket or s3://bucket/prefix (letters, digits, . _ - /)',
    );
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY))
    throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither');
  return {
    kind: 's3',
    url: e.VMM_FILES_STORE,
    endpoint: e.VMM_S3_ENDPOINT,
    region: e.VMM_S3_REGION,
    timeoutMs: parsePositiveDuration(e.VMM_S3_TIMEOUT, 'VMM_S3_TIMEOUT'),
    createBucket: e.VMM_S3_CREATE_BUCKET === 'true',
    // Without keys the gateway still serves; files answer 503 saying what is missing.
    credentials:
      e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: e.AWS_ACCESS_KEY_ID,
            secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
            sessionToken: e.AWS_SESSION_TOKEN,
          }
        : undefined,
  };
}

/** "a, b ," → ["a", "b"]. */
const commaList = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Reads and validates the gateway's environment once; the result is frozen. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<GatewayConfig> {
  return loadEnv(schema, env, (e) => ({
    host: e.VMM_HTTP_HOST,
    port: e.VMM_HTTP_PORT,
    workers: parseWorkers(e.VMM_WORKERS),
    preference: parseBackendPreference(e.VMM_BACKEND_PREFERENCE),
    apiKeys: commaList(e.VMM_API_KEYS),
    pollIntervalMs: e.VMM_POLL_INTERVAL_MS,
    maxBodyBytes: e.VMM_MAX_BODY_BYTES,
    redisUrl: e.REDIS_URL,
    redisTimeoutMs: parsePositiveDuration(e.VMM_REDIS_TIMEOUT, 'VMM_REDIS_TIMEOUT'),
    batchPrefix: e.VMM_BATCH_PREFIX,
    batchTtlMs: parseDuration(e.VMM_BATCH_TTL, 'VMM_BATCH_TTL'),
    batchMaxItems: e.VMM_BATCH_MAX_ITEMS,
    batchMaxBytes: e.VMM_BATCH_MAX_BYTES,
    maxFiles: e.VMM_FILES_MAX,
    maxUploads: e.VMM_MAX_UPLOADS,
    filesStore: filesStore(e),
    shutdownGraceMs: e.VMM_SHUTDOWN_GRACE_MS,
    origins: commaList(e.VMM_ORIGINS),
    maxPromptBytes: e.VMM_MAX_PROMPT_BYTES,
    imageUrls:
      e.VMM_ALLOW_IMAGE_URLS === 'true'
        ? {
            maxBytes: e.VMM_IMAGE_URL_MAX_BYTES,
            timeoutMs: parsePositiveDuration(e.VMM_IMAGE_URL_TIMEOUT, 'VMM_IMAGE_URL_TIMEOUT'),
          }
        : undefined,
    maxInFlight: e.VMM_MAX_IN_FLIGHT,
    maxBatchInFlight: e.VMM_MAX_BATCH_IN_FLIGHT,
    headersTimeoutMs: e.VMM_HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.VMM_HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.VMM_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    workerToken: e.VMM_WORKER_TOKEN,
    workerTlsCa: e.VMM_WORKER_TLS_CA,
    dashboardDir:
      e.VMM_DASHBOARD_DIR === 'off'
        ? undefined
        : (e.VMM_DASHBOARD_DIR ?? fileURLToPath(new URL('../../dashboard/dist/', import.meta.url))),
    supervisorState: e.VMM_SUPERVISOR_STATE,
    logLevel: e.LOG_LEVEL,
  }));
}
