import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('takes the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      workers: [{ backend: 'cpu', address: '127.0.0.1:50051' }],
      preference: ['cuda', 'openvino', 'cpu'],
      apiKeys: [],
      shutdownGraceMs: 30_000,
      origins: [],
      maxPromptBytes: 1024 * 1024,
      maxInFlight: 256,
      maxBatchInFlight: 32,
      maxUploads: 4,
      redisTimeoutMs: 2000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      workerToken: undefined,
      workerTlsCa: undefined,
    });
    expect(loadConfig({ VMM_SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs).toBe(0);
  });

  it('reads workers, preference and keys', () => {
    expect(
      loadConfig({
        VMM_WORKERS: 'cuda=gpu:1,cpu=cpu:2',
        VMM_BACKEND_PREFERENCE: 'cpu,cuda',
        VMM_API_KEYS: ' a , b ,',
        VMM_ORIGINS: 'https://app.example.com, http://*.example.org',
      }),
    ).toMatchObject({
      workers: [
        { backend: 'cuda', address: 'gpu:1' },
        { backend: 'cpu', address: 'cpu:2' },
      ],
      preference: ['cpu', 'cuda'],
      apiKeys: ['a', 'b'],
      origins: ['https://app.example.com', 'http://*.example.org'],
    });
  });

  it.each([
    ['VMM_HTTP_PORT', '-1'],
    ['VMM_WORKERS', 'gpu=host:1'],
    ['VMM_BACKEND_PREFERENCE', 'tpu'],
    ['VMM_POLL_INTERVAL_MS', '1'],
    ['LOG_LEVEL', 'chatty'],
    ['VMM_SHUTDOWN_GRACE_MS', '-5'],
    ['VMM_MAX_IN_FLIGHT', '0'],
    ['VMM_HTTP_REQUEST_TIMEOUT_MS', '10'],
    ['VMM_WORKER_TOKEN', 'short'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
