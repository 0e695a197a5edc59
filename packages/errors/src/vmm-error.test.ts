import { describe, expect, it } from '@jest/globals';
import { ErrorCode, isErrorCode } from './error-code.js';
import { INTERNAL_MESSAGE, VmmError } from './vmm-error.js';

describe('VmmError', () => {
  it('carries code, message, cause, field and retry hint', () => {
    const cause = new Error('root');
    const error = new VmmError(ErrorCode.ResourceExhausted, 'queue full', {
      cause,
      field: 'model',
      retryAfterMs: 500,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('VmmError');
    expect(error.code).toBe(ErrorCode.ResourceExhausted);
    expect(error.message).toBe('queue full');
    expect(error.cause).toBe(cause);
    expect(error.field).toBe('model');
    expect(error.retryAfterMs).toBe(500);
  });

  describe('from', () => {
    it('returns a VmmError unchanged', () => {
      const error = new VmmError(ErrorCode.NotFound, 'no such model');
      expect(VmmError.from(error)).toBe(error);
    });

    const abortReason = (() => {
      const controller = new AbortController();
      controller.abort();
      return controller.signal.reason as unknown;
    })();

    it.each([
      ['an AbortSignal reason', abortReason, ErrorCode.Cancelled],
      [
        'AbortSignal.timeout reason',
        new DOMException('timed out', 'TimeoutError'),
        ErrorCode.DeadlineExceeded,
      ],
      ['an AbortError from another realm', { name: 'AbortError', message: 'x' }, ErrorCode.Cancelled],
      ['a plain Error', new Error('disk on fire at /var/lib/x'), ErrorCode.Internal],
      ['a TypeError', new TypeError('x is undefined'), ErrorCode.Internal],
      ['a string', 'boom', ErrorCode.Internal],
      ['undefined', undefined, ErrorCode.Internal],
      ['null', null, ErrorCode.Internal],
      ['a number', 42, ErrorCode.Internal],
    ])('maps %s to %s', (_name, reason, expected) => {
      const error = VmmError.from(reason);
      expect(error.code).toBe(expected);
      expect(error.cause).toBe(reason);
    });

    it('never leaks the message of an unknown error', () => {
      expect(VmmError.from(new Error('password=hunter2')).message).toBe(INTERNAL_MESSAGE);
    });
  });
});

describe('isErrorCode', () => {
  it.each([
    ['not_found', true],
    ['payload_too_large', true],
    ['NOT_FOUND', false],
    ['', false],
    [5, false],
    [undefined, false],
  ])('%p → %p', (value, expected) => {
    expect(isErrorCode(value)).toBe(expected);
  });
});
