import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('takes the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 50051,
      backend: 'cpu',
      deviceId: 0,
      keepAliveMs: 300_000,
      maxLoadedModels: 3,
      maxRunning: 2,
      maxQueue: 16,
      allowFallback: undefined,
      maxConnectionAgeMs: 300_000,
      workerToken: undefined,
      tls: undefined,
      logLevel: 'info',
      prefixCache: true,
      ortCApi: true,
      visionPreprocessThread: undefined,
      visionLanes: 2,
      hub: { timeouts: { connectMs: 10_000, headersMs: 30_000, idleMs: 60_000 } },
    });
    expect(config.threads).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        VMM_GRPC_PORT: '6000',
        VMM_BACKEND: 'cuda',
        VMM_DEVICE_ID: '1',
        VMM_THREADS: '4',
        VMM_KEEP_ALIVE: '-1',
        VMM_ALLOW_FALLBACK: 'cpu',
        VMM_MAX_QUEUE: '0',
        VMM_GRPC_MAX_CONNECTION_AGE: '0',
        VMM_WORKER_TOKEN: 'a-shared-token-of-32-characters!',
        VMM_GRPC_TLS_CERT: '/etc/vmm/tls.crt',
        VMM_GRPC_TLS_KEY: '/etc/vmm/tls.key',
        VMM_PULL_CONNECT_TIMEOUT: '2s',
        VMM_PULL_HEADERS_TIMEOUT: '1m',
        VMM_PULL_IDLE_TIMEOUT: '500ms',
        VMM_ORT_C_API: 'off',
        VMM_VISION_PREPROCESS_THREAD: 'on',
        VMM_VISION_LANES: '1',
      }),
    ).toMatchObject({
      port: 6000,
      backend: 'cuda',
      deviceId: 1,
      threads: 4,
      keepAliveMs: -1000,
      allowFallback: 'cpu',
      maxQueue: 0,
      maxConnectionAgeMs: 0,
      workerToken: 'a-shared-token-of-32-characters!',
      tls: { certFile: '/etc/vmm/tls.crt', keyFile: '/etc/vmm/tls.key' },
      ortCApi: false,
      visionPreprocessThread: true,
      visionLanes: 1,
      hub: { timeouts: { connectMs: 2000, headersMs: 60_000, idleMs: 500 } },
    });
  });

  it.each([
    ['VMM_GRPC_PORT', '70000'],
    ['VMM_BACKEND', 'tpu'],
    ['VMM_THREADS', '0'],
    ['VMM_MAX_RUNNING', 'many'],
    ['VMM_ALLOW_FALLBACK', 'gpu'],
    ['VMM_KEEP_ALIVE', 'forever'],
    ['VMM_GRPC_MAX_CONNECTION_AGE', 'soon'],
    ['LOG_LEVEL', 'loud'],
    ['VMM_WORKER_TOKEN', 'short'],
    ['VMM_GRPC_TLS_CERT', '/etc/vmm/tls.crt'],
    ['VMM_PULL_HEADERS_TIMEOUT', '-1'],
    ['VMM_PULL_IDLE_TIMEOUT', '0'],
    ['VMM_PULL_CONNECT_TIMEOUT', 'later'],
    ['VMM_ORT_C_API', 'yes'],
    ['VMM_VISION_PREPROCESS_THREAD', 'sometimes'],
    ['VMM_VISION_LANES', '0'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
