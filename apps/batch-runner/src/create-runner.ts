import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  BATCHES_QUEUE,
  BatchService,
  type ItemJobData,
  type ItemResult,
  ITEMS_QUEUE,
  type ParentJobData,
  RUNNER_TTL_MS,
} from '@vmm/batch';
import { UnrecoverableError, Worker } from 'bullmq';
import { VmmError } from '@vmm/errors';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WORKER_LOST, WorkerPool } from '@vmm/worker-pool';
import type { RunnerConfig } from './config.js';
import { Isolation } from './isolation.js';
import { runItem } from './run-item.js';

/** Times a worker may go away with an item in flight before the item is quarantined. */
const QUARANTINE_STRIKES = 2;

export const RUNNER_VERSION = '0.1.0';

export interface BatchRunner {
  pool: WorkerPool;
  /** Finishes the items it is running, then stops; nothing is lost (queued items wait in Redis). */
  close(): Promise<void>;
}

/**
 * The batch runner: BullMQ Workers on the items queue (configured concurrency; a job whose
 * runner dies is stalled and taken over once its lock lapses) and on the batches queue (a
 * batch's parent job runs once all its items have, and closes the batch).
 */
export async function createRunner(config: Readonly<RunnerConfig>, logger: Logger): Promise<BatchRunner> {
  const pool = new WorkerPool({
    workers: config.workers,
    preference: config.preference,
    pollIntervalMs: config.pollIntervalMs,
    token: config.workerToken,
    tlsCa: config.workerTlsCa === undefined ? undefined : readFileSync(config.workerTlsCa),
  });
  await pool.start();
  // BullMQ's blocking commands need maxRetriesPerRequest null; the connection retries forever,
  // so a Redis restart is waited out and the work resumes.
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  const service = new BatchService({
    redis,
    prefix: config.prefix,
    ttlMs: config.ttlMs,
    onError: (error) => logger.warn({ err: error.message }, 'queue connection error'),
  });
  const itemsConnection = redis.duplicate();
  const batchesConnection = redis.duplicate();
  const options = {
    connection: itemsConnection,
    prefix: config.prefix,
    lockDuration: config.lockMs,
    stalledInterval: Math.max(500, Math.floor(config.lockMs / 2)),
    maxStalledCount: 3,
  };
  const isolation = new Isolation();
  const items = new Worker<ItemJobData, ItemResult>(
    ITEMS_QUEUE,
    async (job) => {
      const item = job.data;
      if (await service.isCancelling(item.batchId)) return { status_code: 499, body: null, skipped: true };
      const strikes = item.strikes ?? 0;
      try {
        // An item that was in flight when a worker went away runs alone from then on: a second
        // loss in its time is its own doing, and no innocent item shares the blame.
        const run = () => runItem(pool, item, RUNNER_VERSION);
        const result = strikes > 0 ? await isolation.alone(run) : await isolation.shared(run);
        await service.recordItem(item.batchId, item.index, result);
        await job.updateProgress(100);
        return result;
      } catch (error) {
        const lost = error instanceof VmmError && error.reason === WORKER_LOST;
        if (lost && strikes + 1 >= QUARANTINE_STRIKES) {
          // Quarantined: never tried again (it would take the worker down a third time).
          logger.error(
            { batch: item.batchId, index: item.index, requestId: item.requestId },
            'batch item quarantined: a worker went away each time it ran',
          );
          await service.recordFailure(item.batchId, item.index);
          throw new UnrecoverableError(
            `quarantined: a worker went away ${strikes + 1} times while this request was in flight (the last time it ran alone); it is not tried again`,
          );
        }
        if (lost) await job.updateData({ ...item, strikes: strikes + 1 });
        // Its last attempt: counted as failed now, with its reason in the error file.
        if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1))
          await service.recordFailure(item.batchId, item.index);
        throw error;
      }
    },
    { ...options, concurrency: config.concurrency },
  );
  const batches = new Worker<ParentJobData>(BATCHES_QUEUE, async (job) => service.finish(job.data.batchId), {
    ...options,
    connection: batchesConnection,
  });
  items.on('failed', (job, error) => {
    logger.warn(
      { job: job?.id, attempts: job?.attemptsMade, err: error.message },
      'batch item attempt failed',
    );
  });
  for (const worker of [items, batches])
    worker.on('error', (error) => logger.warn({ err: error.message }, 'queue connection error'));
  // Said every few seconds: the gateway accepts batches only while some runner is alive.
  const runnerId = `${hostname()}:${process.pid}:${randomUUID()}`;
  const heartbeat = () =>
    service
      .runnerAlive(runnerId)
      .catch((error: unknown) =>
        logger.warn({ err: (error as Error).message }, 'cannot report this runner alive'),
      );
  await heartbeat();
  const beating = setInterval(() => void heartbeat(), RUNNER_TTL_MS / 3);
  beating.unref();
  logger.info({ concurrency: config.concurrency, prefix: config.prefix }, 'batch runner started');
  return {
    pool,
    async close() {
      clearInterval(beating);
      await service.runnerGone(runnerId).catch(() => undefined);
      await Promise.all([items.close(), batches.close()]);
      await service.close();
      pool.stop();
      // BullMQ leaves connections it was given open.
      for (const connection of [itemsConnection, batchesConnection, redis]) connection.disconnect();
      logger.info('batch runner stopped');
    },
  };
}
