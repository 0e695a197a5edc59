import { describe, expect, it } from '@jest/globals';
import { Metadata, status } from '@grpc/grpc-js';
import { ErrorCode } from './error-code.js';
import {
  ERROR_CODE_TRAILER,
  fromGrpcError,
  grpcStatusFor,
  isGrpcStatusLike,
  toGrpcStatus,
} from './grpc-status.js';
import { VmmError } from './vmm-error.js';

describe('grpcStatusFor', () => {
  it.each([
    [ErrorCode.Cancelled, status.CANCELLED],
    [ErrorCode.InvalidArgument, status.INVALID_ARGUMENT],
    [ErrorCode.PayloadTooLarge, status.INVALID_ARGUMENT],
    [ErrorCode.UnsupportedMediaType, status.INVALID_ARGUMENT],
    [ErrorCode.DeadlineExceeded, status.DEADLINE_EXCEEDED],
    [ErrorCode.NotFound, status.NOT_FOUND],
    [ErrorCode.AlreadyExists, status.ALREADY_EXISTS],
    [ErrorCode.PermissionDenied, status.PERMISSION_DENIED],
    [ErrorCode.Unauthenticated, status.UNAUTHENTICATED],
    [ErrorCode.ResourceExhausted, status.RESOURCE_EXHAUSTED],
    [ErrorCode.FailedPrecondition, status.FAILED_PRECONDITION],
    [ErrorCode.Aborted, status.ABORTED],
    [ErrorCode.OutOfRange, status.OUT_OF_RANGE],
    [ErrorCode.Unimplemented, status.UNIMPLEMENTED],
    [ErrorCode.Unavailable, status.UNAVAILABLE],
    [ErrorCode.DataLoss, status.DATA_LOSS],
    [ErrorCode.Internal, status.INTERNAL],
  ])('maps %s to gRPC status %i', (code, expected) => {
    expect(grpcStatusFor(code)).toBe(expected);
  });

  it('never maps an error to OK', () => {
    for (const code of Object.values(ErrorCode)) expect(grpcStatusFor(code)).not.toBe(status.OK);
  });
});

describe('toGrpcStatus / fromGrpcError', () => {
  it.each(Object.values(ErrorCode))('round-trips %s with its field and retry hint', (code) => {
    const sent = new VmmError(code, `failure ${code}`, { field: 'options.top_p', retryAfterMs: 250 });
    const received = fromGrpcError(toGrpcStatus(sent));
    expect(received).toBeInstanceOf(VmmError);
    expect(received.code).toBe(code);
    expect(received.message).toBe(`failure ${code}`);
    expect(received.field).toBe('options.top_p');
    expect(received.retryAfterMs).toBe(250);
  });

  it.each([
    [status.CANCELLED, ErrorCode.Cancelled],
    [status.UNKNOWN, ErrorCode.Internal],
    [status.INVALID_ARGUMENT, ErrorCode.InvalidArgument],
    [status.DEADLINE_EXCEEDED, ErrorCode.DeadlineExceeded],
    [status.NOT_FOUND, ErrorCode.NotFound],
    [status.RESOURCE_EXHAUSTED, ErrorCode.ResourceExhausted],
    [status.FAILED_PRECONDITION, ErrorCode.FailedPrecondition],
    [status.UNIMPLEMENTED, ErrorCode.Unimplemented],
    [status.UNAVAILABLE, ErrorCode.Unavailable],
    [status.UNAUTHENTICATED, ErrorCode.Unauthenticated],
    [status.INTERNAL, ErrorCode.Internal],
    [99, ErrorCode.Internal],
  ])('reads plain gRPC status %i as %s', (grpcCode, expected) => {
    const error = fromGrpcError({ code: grpcCode, details: 'from a plain server', metadata: new Metadata() });
    expect(error.code).toBe(expected);
    expect(error.field).toBeUndefined();
    expect(error.retryAfterMs).toBeUndefined();
  });

  it.each([
    ['an unknown code', 'teapot', ErrorCode.NotFound],
    ['an empty code', '', ErrorCode.NotFound],
  ])('falls back to the status code when the trailer holds %s', (_name, trailer, expected) => {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_TRAILER, trailer);
    expect(fromGrpcError({ code: status.NOT_FOUND, details: 'x', metadata }).code).toBe(expected);
  });

  it('keeps the original status as the cause', () => {
    const original = { code: status.UNAVAILABLE, details: 'connection refused', metadata: new Metadata() };
    expect(fromGrpcError(original).cause).toBe(original);
  });

  it.each([
    ['a grpc-js ServiceError shape', { code: 14, details: 'x', metadata: new Metadata() }, true],
    ['a plain Error', new Error('x'), false],
    ['a code without metadata', { code: 14 }, false],
    ['null', null, false],
  ])('recognises %s: %p', (_name, value, expected) => {
    expect(isGrpcStatusLike(value)).toBe(expected);
  });
});
