import { createGateway, loadConfig } from '@vmm/gateway';
import { pino } from 'pino';

/**
 * A gateway on a free loopback port in front of one CPU worker at `grpcPort`, silent, with no
 * API keys: what the benchmarks send their HTTP requests through. Returns its base URL.
 */
export async function startBenchGateway(
  grpcPort: number,
): Promise<{ url: string; close: () => Promise<void> }> {
  const gateway = createGateway(
    {
      ...loadConfig({}),
      host: '127.0.0.1',
      port: 0,
      workers: [{ backend: 'cpu', address: `127.0.0.1:${grpcPort}` }],
      preference: ['cpu'],
      apiKeys: [],
      pollIntervalMs: 1000,
      maxBodyBytes: 32 * 1024 * 1024,
      redisUrl: 'redis://127.0.0.1:6379',
      batchPrefix: 'vmm-bench',
      batchTtlMs: 3_600_000,
      batchMaxItems: 10_000,
      batchMaxBytes: 32 * 1024 * 1024,
      shutdownGraceMs: 0,
      logLevel: 'silent',
    },
    pino({ level: 'silent' }),
  );
  const url = `http://127.0.0.1:${await gateway.listen('127.0.0.1', 0)}`;
  return { url, close: () => gateway.close() };
}
