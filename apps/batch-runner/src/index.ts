export { createRunner, type BatchRunner, RUNNER_VERSION } from './create-runner.js';
export { configKeys, loadConfig, type RunnerConfig } from './config.js';
export { runItem } from './run-item.js';
