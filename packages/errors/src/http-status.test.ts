import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from './error-code.js';
import { errorBody, errorHeaders, httpStatusFor } from './http-status.js';
import { VmmError } from './vmm-error.js';

describe('httpStatusFor', () => {
  it.each([
    [ErrorCode.Cancelled, 499],
    [ErrorCode.InvalidArgument, 400],
    [ErrorCode.PayloadTooLarge, 413],
    [ErrorCode.UnsupportedMediaType, 415],
    [ErrorCode.DeadlineExceeded, 504],
    [ErrorCode.NotFound, 404],
    [ErrorCode.AlreadyExists, 409],
    [ErrorCode.PermissionDenied, 403],
    [ErrorCode.Unauthenticated, 401],
    [ErrorCode.ResourceExhausted, 429],
    [ErrorCode.FailedPrecondition, 400],
    [ErrorCode.Aborted, 409],
    [ErrorCode.OutOfRange, 400],
    [ErrorCode.Unimplemented, 501],
    [ErrorCode.Unavailable, 503],
    [ErrorCode.DataLoss, 500],
    [ErrorCode.Internal, 500],
  ])('maps %s to HTTP %i', (code, expected) => {
    expect(httpStatusFor(code)).toBe(expected);
  });

  it('gives every code a status in the 4xx or 5xx range', () => {
    for (const code of Object.values(ErrorCode)) {
      const httpStatus = httpStatusFor(code);
      expect(httpStatus >= 400 && httpStatus < 600).toBe(true);
    }
  });
});

describe('errorBody', () => {
  it('renders the one JSON shape, naming the field when there is one', () => {
    const error = new VmmError(ErrorCode.InvalidArgument, 'temperature must be >= 0', {
      field: 'options.temperature',
    });
    expect(errorBody(error)).toEqual({
      error: {
        code: 'invalid_argument',
        message: 'temperature must be >= 0',
        field: 'options.temperature',
      },
    });
  });

  it('leaves the cause out of the body', () => {
    const error = VmmError.from(new Error('ENOENT /secret/path/model.onnx'));
    expect(JSON.stringify(errorBody(error))).not.toContain('/secret/path');
    expect(errorBody(error)).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });
});

describe('errorHeaders', () => {
  it.each([
    [undefined, {}],
    [1, { 'retry-after': '1' }],
    [1000, { 'retry-after': '1' }],
    [1001, { 'retry-after': '2' }],
    [30_000, { 'retry-after': '30' }],
  ])('turns retryAfterMs %p into %p', (retryAfterMs, expected) => {
    const error = new VmmError(ErrorCode.ResourceExhausted, 'full', {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
    expect(errorHeaders(error)).toEqual(expected);
  });
});
