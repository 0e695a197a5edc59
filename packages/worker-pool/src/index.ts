export {
  WorkerPool,
  WORKER_LOST,
  rankWorkers,
  servedBackend,
  type WorkerPoolOptions,
  type WorkerState,
  type WorkerHandle,
  type PendingUpload,
} from './worker-pool.js';
export {
  parseWorkers,
  parseBackendPreference,
  backendNames,
  type BackendName,
  type WorkerAddress,
} from './worker-address.js';
