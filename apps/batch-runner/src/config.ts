import { parseDuration } from '@vmm/duration';
import { parseBackendPreference, parseWorkers, type BackendName, type WorkerAddress } from '@vmm/worker-pool';
import { loadEnv } from '@vmm/app-config';
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  VMM_WORKERS: z.string().default('cpu=127.0.0.1:50051'),
  VMM_BACKEND_PREFERENCE: z.string().default('cuda,openvino,cpu'),
  VMM_BATCH_PREFIX: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('vmm'),
  VMM_BATCH_CONCURRENCY: int(1, 1000).default(4),
  VMM_BATCH_LOCK_MS: int(1000).default(30_000),
  VMM_BATCH_TTL: z.string().default('168h'),
  VMM_POLL_INTERVAL_MS: int(50).default(2000),
  VMM_WORKER_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  VMM_WORKER_TLS_CA: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The environment variables this app reads (deployment files are checked against them). */
export const configKeys: readonly string[] = Object.keys(schema.shape);

export interface RunnerConfig {
  redisUrl: string;
  workers: WorkerAddress[];
  preference: BackendName[];
  prefix: string;
  /** Items run at once by this runner. */
  concurrency: number;
  /** A job whose runner stops renewing its lock for this long is stalled and taken over. */
  lockMs: number;
  ttlMs: number;
  pollIntervalMs: number;
  /** Sent to the workers (VMM_WORKER_TOKEN); a PEM CA file for gRPC over TLS. */
  workerToken: string | undefined;
  workerTlsCa: string | undefined;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
}

/** Reads and validates the runner's environment once; the result is frozen. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<RunnerConfig> {
  return loadEnv(schema, env, (e) => ({
    redisUrl: e.REDIS_URL,
    workers: parseWorkers(e.VMM_WORKERS),
    preference: parseBackendPreference(e.VMM_BACKEND_PREFERENCE),
    prefix: e.VMM_BATCH_PREFIX,
    concurrency: e.VMM_BATCH_CONCURRENCY,
    lockMs: e.VMM_BATCH_LOCK_MS,
    ttlMs: parseDuration(e.VMM_BATCH_TTL, 'VMM_BATCH_TTL'),
    pollIntervalMs: e.VMM_POLL_INTERVAL_MS,
    workerToken: e.VMM_WORKER_TOKEN,
    workerTlsCa: e.VMM_WORKER_TLS_CA,
    logLevel: e.LOG_LEVEL,
  }));
}
