import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { parseBackendPreference, parseWorkers } from './worker-address.js';

describe('parseWorkers', () => {
  it.each([
    ['', []],
    ['cpu=localhost:50051', [{ backend: 'cpu', address: 'localhost:50051' }]],
    [
      'cpu=127.0.0.1:1, cuda=gpu-0.vmm.svc:50051,cpu=[::1]:7',
      [
        { backend: 'cpu', address: '127.0.0.1:1' },
        { backend: 'cuda', address: 'gpu-0.vmm.svc:50051' },
        { backend: 'cpu', address: '[::1]:7' },
      ],
    ],
  ])('reads %p', (text, expected) => {
    expect(parseWorkers(text)).toEqual(expected);
  });

  it.each(['cpu', 'cpu=host', 'tpu=host:1', 'cpu=host:99999', 'cpu=ho st:1', '=host:1'])(
    'refuses %p naming VMM_WORKERS',
    (text) => {
      expect(() => parseWorkers(text)).toThrow(
        expect.objectContaining({ code: ErrorCode.InvalidArgument, field: 'VMM_WORKERS' }),
      );
    },
  );
});

describe('parseBackendPreference', () => {
  it.each([
    ['cuda,openvino,cpu', ['cuda', 'openvino', 'cpu']],
    ['cpu', ['cpu']],
    ['cpu, cpu ,cuda', ['cpu', 'cuda']],
  ])('reads %p', (text, expected) => {
    expect(parseBackendPreference(text)).toEqual(expected);
  });
  it('refuses an unknown backend', () => {
    expect(() => parseBackendPreference('cuda,tpu')).toThrow(/unknown backend "tpu"/);
  });
});
