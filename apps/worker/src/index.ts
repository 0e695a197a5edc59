export { createWorker, type Worker, WORKER_VERSION } from './create-worker.js';
export { configKeys, loadConfig, type WorkerConfig } from './config.js';
export { ModelManager, type ModelManagerOptions, type Lease } from './model-manager.js';
