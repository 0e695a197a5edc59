import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { Backend, type ModelInfo, type WorkerInfoResponse } from '@vmm/proto';
import type { BackendName } from './worker-address.js';
import { rankWorkers, type WorkerState } from './worker-pool.js';

const protoBackend = {
  cpu: Backend.BACKEND_CPU,
  cuda: Backend.BACKEND_CUDA,
  openvino: Backend.BACKEND_OPENVINO,
};

function worker(
  id: string,
  backend: BackendName,
  options: { up?: boolean; running?: number; models?: string[]; servedAs?: BackendName } = {},
): WorkerState {
  return {
    id,
    backend,
    address: `${id}:1`,
    up: options.up ?? true,
    info: {
      backend: protoBackend[options.servedAs ?? backend],
      running: options.running ?? 0,
      queued: 0,
      capacity: 4,
    } as WorkerInfoResponse,
    // Workers list canonical names (name:tag).
    models: (options.models ?? ['m']).map((name) => ({ name: `${name}:latest` }) as ModelInfo),
    lastSeenMs: 0,
    lastError: undefined,
  };
}

const ids = (states: WorkerState[]) => states.map((state) => state.id);
const preference: BackendName[] = ['cuda', 'openvino', 'cpu'];

describe('rankWorkers', () => {
  it.each<[string, WorkerState[], BackendName | undefined, string[]]>([
    [
      'follows the backend preference',
      [worker('c', 'cpu'), worker('g', 'cuda'), worker('o', 'openvino')],
      undefined,
      ['g', 'o', 'c'],
    ],
    [
      'puts the least loaded first within a backend',
      [worker('c1', 'cpu', { running: 3 }), worker('c2', 'cpu', { running: 1 })],
      undefined,
      ['c2', 'c1'],
    ],
    [
      'prefers the backend over load',
      [worker('c', 'cpu'), worker('g', 'cuda', { running: 4 })],
      undefined,
      ['g', 'c'],
    ],
    ['honours a pin', [worker('c', 'cpu'), worker('g', 'cuda')], 'cpu', ['c']],
    [
      'skips workers that are down',
      [worker('g', 'cuda', { up: false }), worker('c', 'cpu')],
      undefined,
      ['c'],
    ],
    [
      'skips workers without the model',
      [worker('g', 'cuda', { models: ['other'] }), worker('c', 'cpu')],
      undefined,
      ['c'],
    ],
    [
      'asks every worker when none lists the model yet',
      [worker('g', 'cuda', { models: [] }), worker('c', 'cpu', { models: [] })],
      undefined,
      ['g', 'c'],
    ],
    [
      'ranks a worker that fell back to the CPU as a CPU worker',
      [worker('f', 'cuda', { servedAs: 'cpu', running: 2 }), worker('c', 'cpu')],
      undefined,
      ['c', 'f'],
    ],
  ])('%s', (_name, states, pin, expected) => {
    expect(ids(rankWorkers(states, 'm', preference, pin, 1000))).toEqual(expected);
  });

  it.each<[string, WorkerState[], BackendName | undefined, RegExp]>([
    ['no worker is up', [worker('c', 'cpu', { up: false })], undefined, /no worker is serving/],
    ['no worker has the pinned backend', [worker('c', 'cpu')], 'cuda', /no healthy cuda worker/],
  ])('is UNAVAILABLE when %s', (_name, states, pin, message) => {
    expect(() => rankWorkers(states, 'm', preference, pin, 1000)).toThrow(
      expect.objectContaining({
        code: ErrorCode.Unavailable,
        message: expect.stringMatching(message),
        retryAfterMs: 1000,
      }),
    );
  });
});
