import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('takes the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      workers: [{ backend: 'cpu', address: '127.0.0.1:50051' }],
      prefix: 'vmm',
      concurrency: 4,
      lockMs: 30_000,
      ttlMs: 168 * 3_600_000,
    });
  });

  it.each([
    ['VMM_BATCH_CONCURRENCY', '0'],
    ['VMM_BATCH_LOCK_MS', '10'],
    ['VMM_BATCH_PREFIX', 'a b'],
    ['VMM_BATCH_TTL', 'soon'],
    ['VMM_WORKERS', 'tpu=x:1'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
