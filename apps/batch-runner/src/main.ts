#!/usr/bin/env node
// The batch runner process: takes batch items from Redis and runs them on the workers.
import { exitOnSignals, keepServingOnUncaughtErrors } from '@vmm/app-config';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createRunner } from './create-runner.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error(`vmm-batch-runner: ${(error as Error).message}`);
  process.exit(2);
}
const logger = pino({ level: config.logLevel, base: { service: 'batch-runner' } });
keepServingOnUncaughtErrors((error, kind) => logger.error({ err: error }, kind));
let runner;
try {
  runner = await createRunner(config, logger);
} catch (error) {
  // E.g. VMM_WORKER_TLS_CA names a file that cannot be read.
  console.error(`vmm-batch-runner: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`vmm-batch-runner running concurrency=${config.concurrency} prefix=${config.prefix}`);

exitOnSignals(() => runner.close(), logger);
