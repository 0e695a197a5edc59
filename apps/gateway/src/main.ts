#!/usr/bin/env node
// The gateway process: reads its configuration, polls its workers, serves HTTP until SIGTERM.
import { exitOnSignals, keepServingOnUncaughtErrors, listenFailure } from '@vmm/app-config';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createGateway } from './create-gateway.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error(`vmm-gateway: ${(error as Error).message}`);
  process.exit(2);
}
const logger = pino({ level: config.logLevel, base: { service: 'gateway' } });
keepServingOnUncaughtErrors((error, kind) => logger.error({ err: error }, kind));
let gateway;
try {
  gateway = createGateway(config, logger);
} catch (error) {
  // E.g. VMM_WORKER_TLS_CA names a file that cannot be read.
  console.error(`vmm-gateway: ${(error as Error).message}`);
  process.exit(1);
}
let port;
try {
  port = await gateway.listen(config.host, config.port);
} catch (error) {
  console.error(`vmm-gateway: ${listenFailure(`${config.host}:${config.port}`, error)}`);
  process.exit(1);
}
// Launchers (npm start, tests) read the bound port from this line when VMM_HTTP_PORT=0.
console.log(
  `vmm-gateway listening on http://${config.host}:${port} workers=${config.workers.map((w) => `${w.backend}=${w.address}`).join(',')}`,
);

exitOnSignals(() => gateway.close(config.shutdownGraceMs), logger);
