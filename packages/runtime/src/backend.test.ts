import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { executionProvidersFor, parseBackend } from './backend.js';

describe('executionProvidersFor', () => {
  it.each([
    ['cpu', 0, [{ name: 'cpu' }]],
    ['cuda', 0, [{ name: 'cuda', deviceId: 0 }, { name: 'cpu' }]],
    ['cuda', 3, [{ name: 'cuda', deviceId: 3 }, { name: 'cpu' }]],
  ] as const)('maps %s (device %i) to %p', (backend, deviceId, expected) => {
    expect(executionProvidersFor(backend, deviceId)).toEqual(expected);
  });

  it('refuses openvino with a clear "Unsupported device" error', () => {
    expect(() => executionProvidersFor('openvino')).toThrow(/Unsupported device "openvino"/);
  });

  it.each([-1, 1.5, Number.NaN])('refuses the cuda device id %p, naming the field', (deviceId) => {
    expect(() => executionProvidersFor('cuda', deviceId)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, field: 'device_id' }),
    );
  });
});

describe('parseBackend', () => {
  it.each(['cpu', 'cuda', 'openvino'])('accepts %s', (name) => expect(parseBackend(name)).toBe(name));
  it.each(['CPU', 'gpu', '', 'rocm'])('refuses %p', (name) => {
    expect(() => parseBackend(name)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});
