export {
  parseBatchInput,
  BATCH_URLS,
  type BatchItem,
  type BatchUrl,
  type BatchLimits,
} from './batch-input.js';
export {
  BatchService,
  batchKeys,
  itemJobId,
  batchFileId,
  parseBatchFileId,
  ITEMS_QUEUE,
  BATCHES_QUEUE,
  RUNNER_TTL_MS,
  type BatchServiceOptions,
} from './batch-service.js';
export type { BatchStatus, BatchView, ItemJobData, ItemResult, ParentJobData } from './batch-types.js';
export {
  FileStore,
  FILE_PURPOSES,
  type FileView,
  type FileStoreOptions,
  type ReceivedFile,
} from './file-store.js';
export { DiskFileContent, type FileContent } from './file-content.js';
export { S3FileContent, type S3FileContentOptions } from './s3-file-content.js';
export type { S3Credentials } from './s3-signer.js';
