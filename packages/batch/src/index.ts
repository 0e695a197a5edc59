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
  ITEMS_QUEUE,
  BATCHES_QUEUE,
  type BatchServiceOptions,
} from './batch-service.js';
export type { BatchStatus, BatchView, ItemJobData, ItemResult, ParentJobData } from './batch-types.js';
