export { ErrorCode, isErrorCode } from './error-code.js';
export { VmmError, INTERNAL_MESSAGE, type VmmErrorOptions } from './vmm-error.js';
export { httpStatusFor, errorBody, errorHeaders, type ErrorBody } from './http-status.js';
export {
  grpcStatusFor,
  toGrpcStatus,
  fromGrpcError,
  isGrpcStatusLike,
  ERROR_CODE_TRAILER,
  ERROR_FIELD_TRAILER,
  RETRY_AFTER_TRAILER,
  type GrpcErrorStatus,
  type GrpcStatusLike,
} from './grpc-status.js';
