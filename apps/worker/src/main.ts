#!/usr/bin/env node
// The worker process: reads its configuration, proves its backend, serves until SIGTERM.
import { setLogger } from '@grpc/grpc-js';
import { exitOnSignals, keepServingOnUncaughtErrors, listenFailure } from '@vmm/app-config';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createWorker } from './create-worker.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  console.error(`vmm-worker: ${(error as Error).message}`);
  process.exit(2);
}
const logger = pino({ level: config.logLevel, base: { service: 'worker', backend: config.backend } });
keepServingOnUncaughtErrors((error, kind) => logger.error({ err: error }, kind));
// grpc-js writes its own diagnostics to stderr ("E No address added..."): keep them in the
// log, at debug, so that a failure is the one line this process prints.
const grpcLog = (...args: unknown[]) => logger.debug({ grpc: args.map(String).join(' ') }, 'grpc-js');
setLogger({ error: grpcLog, warn: grpcLog, info: grpcLog, debug: grpcLog });

let worker;
try {
  worker = await createWorker(config, logger);
} catch (error) {
  // The reason (e.g. a missing CUDA provider and how to install it) is the whole message.
  console.error(`vmm-worker: ${(error as Error).message}`);
  process.exit(1);
}
let port;
let metricsUrl = '';
try {
  port = await worker.listen(config.host, config.port);
} catch (error) {
  console.error(`vmm-worker: ${listenFailure(`${config.host}:${config.port}`, error)}`);
  process.exit(1);
}
if (config.metrics) {
  const { host, port: wanted } = config.metrics;
  try {
    metricsUrl = ` metrics=http://${host}:${await worker.listenMetrics(host, wanted)}/metrics`;
  } catch (error) {
    console.error(`vmm-worker: ${listenFailure(`${host}:${wanted} (VMM_METRICS_PORT)`, error)}`);
    process.exit(1);
  }
}
// Launchers (npm start, tests) read the bound ports from this line when the ports are 0.
console.log(`vmm-worker listening on ${config.host}:${port} backend=${worker.backend.backend}${metricsUrl}`);

// A model run stuck in native code holds its thread for good, and process.exit would wait for
// that thread for ever (Node joins worker threads on exit): the worker says why, on stderr and
// in the log, and kills itself (SIGKILL) for its supervisor (vmm serve, Docker, the kubelet) to
// start a fresh one. Calls in flight end as the gateway's retryable "worker went away".
worker.onFatal((reason) => {
  logger.fatal({ reason }, 'worker exiting');
  console.error(`vmm-worker: ${reason}`);
  process.kill(process.pid, 'SIGKILL');
});

exitOnSignals(() => worker.shutdown(config.shutdownGraceMs), logger);
