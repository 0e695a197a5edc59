import { randomUUID } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import { FlowProducer, Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BatchItem } from './batch-input.js';
import type { BatchStatus, BatchView, ItemJobData, ItemResult, ParentJobData } from './batch-types.js';

export const ITEMS_QUEUE = 'batch-items';
export const BATCHES_QUEUE = 'batches';

export interface BatchServiceOptions {
  /** Used for batch state; BullMQ duplicates it for its own connections. */
  redis: Redis;
  /** Key prefix for BullMQ and VMM keys, so deployments (and tests) never collide. */
  prefix: string;
  /** How long batches, their jobs and results are kept. */
  ttlMs: number;
  /**
   * Attempts per item for retryable failures (worker unavailable or full), with exponential
   * backoff: by default 6 from 1 s, so an item waits out a worker that is down (restarting, its
   * model loading on a busy machine) for about 31 s before it fails — 5 from 500 ms gave up after
   * 7.5 s and failed innocent items of a batch whose worker a poison item had killed.
   */
  attempts?: number;
  backoffMs?: number;
  /** Connection errors of the queues (Redis away); they reconnect by themselves. */
  onError?: (error: Error) => void;
}

/** A runner that has not said it is alive for this long is taken to be gone. */
export const RUNNER_TTL_MS = 15_000;

const terminal: ReadonlySet<BatchStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Keys of one batch's state. */
export function batchKeys(prefix: string, batchId: string) {
  const base = `${prefix}:vmm-batch:${batchId}`;
  return { batch: base, done: `${base}:done`, failed: `${base}:failed` };
}

export const itemJobId = (batchId: string, index: number) => `${batchId}-${index}`;

/** The id of a batch's output (`out`) or error (`err`) file; `parseBatchFileId` reads it back. */
export const batchFileId = (kind: 'out' | 'err', batchId: string) => `file-${kind}-${batchId}`;

export function parseBatchFileId(id: string): { kind: 'out' | 'err'; batchId: string } | undefined {
  const match = /^file-(out|err)-(batch_[0-9a-f]+)$/.exec(id);
  return match ? { kind: match[1] as 'out' | 'err', batchId: match[2] as string } : undefined;
}

/**
 * Batches on BullMQ: one flow per batch — a parent job in `batches` with a child job per item
 * in `batch-items` (job id `<batch>-<index>`, so an item can never be queued twice). Items
 * retry with exponential backoff; an item that finally fails is moved to the parent's failed
 * dependencies, so the batch still completes. State lives in a Redis hash; counts in sets keyed
 * by item index, idempotent however often an item is retried or re-run after a crash.
 */
export class BatchService {
  readonly items: Queue<ItemJobData, ItemResult>;
  readonly batches: Queue<ParentJobData>;
  private readonly flows: FlowProducer;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  /** BullMQ leaves connections it was given open on close(); these are ours to close. */
  private readonly connections: Redis[];

  constructor(private readonly options: BatchServiceOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));
    this.connections = [options.redis.duplicate(), options.redis.duplicate(), options.redis.duplicate()];
    const [items, batches, flows] = this.connections as [Redis, Redis, Redis];
    this.items = new Queue(ITEMS_QUEUE, { connection: items, prefix: options.prefix });
    this.batches = new Queue(BATCHES_QUEUE, { connection: batches, prefix: options.prefix });
    this.flows = new FlowProducer({ connection: flows, prefix: options.prefix });
    const onError = options.onError ?? (() => undefined);
    this.items.on('error', onError);
    this.batches.on('error', onError);
    this.flows.on('error', onError);
  }

  private get indexKey(): string {
    return `${this.prefix}:vmm-batches`;
  }

  async create(
    items: BatchItem[],
    options: {
      idempotencyKey?: string;
      metadata?: Record<string, string>;
      /** OpenAI's flow: the uploaded file the items came from, and the window asked for. */
      inputFileId?: string;
      completionWindow?: string;
    } = {},
  ): Promise<BatchView> {
    const batchId = `batch_${randomUUID().replaceAll('-', '')}`;
    if (options.idempotencyKey) {
      const key = `${this.prefix}:vmm-batch-idempotency:${options.idempotencyKey}`;
      const claimed = await this.redis.set(key, batchId, 'EX', this.ttlSeconds, 'NX');
      if (claimed === null) {
        const existing = await this.redis.get(key);
        if (existing) return this.get(existing);
      }
    }
    const now = Date.now();
    const keys = batchKeys(this.prefix, batchId);
    const endpoints = [...new Set(items.map((item) => item.url))];
    await this.redis
      .multi()
      .hset(keys.batch, {
        id: batchId,
        status: 'validating',
        endpoint: endpoints.length === 1 ? (endpoints[0] as string) : 'mixed',
        total: items.length,
        created_at: now,
        metadata: JSON.stringify(options.metadata ?? null),
        input_file_id: options.inputFileId ?? '',
        completion_window: options.completionWindow ?? '24h',
      })
      .expire(keys.batch, this.ttlSeconds)
      .zadd(this.indexKey, now, batchId)
      .exec();
    const ttl = { age: this.ttlSeconds };
    await this.flows.add({
      name: 'batch',
      queueName: BATCHES_QUEUE,
      data: { batchId },
      opts: { jobId: batchId, removeOnComplete: ttl, removeOnFail: ttl },
      children: items.map((item, index) => ({
        name: item.url,
        queueName: ITEMS_QUEUE,
        data: {
          batchId,
          index,
          customId: item.customId,
          url: item.url,
          body: item.body,
          requestId: `${batchId}-${index}`,
        },
        opts: {
          jobId: itemJobId(batchId, index),
          attempts: this.options.attempts ?? 6,
          backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1000 },
          removeOnComplete: ttl,
          removeOnFail: ttl,
          ignoreDependencyOnFailure: true,
        },
      })),
    });
    await this.redis.hset(keys.batch, { status: 'in_progress', in_progress_at: Date.now() });
    return this.get(batchId);
  }

  async get(batchId: string): Promise<BatchView> {
    const keys = batchKeys(this.prefix, batchId);
    const [[, hash], [, done], [, failed]] = (await this.redis
      .multi()
      .hgetall(keys.batch)
      .scard(keys.done)
      .scard(keys.failed)
      .exec()) as [[null, Record<string, string>], [null, number], [null, number]];
    if (!hash.id)
      throw new VmmError(ErrorCode.NotFound, `batch "${batchId}" not found`, { field: 'batch_id' });
    const seconds = (value: string | undefined) => (value ? Math.floor(Number(value) / 1000) : null);
    const status = hash.status as BatchStatus;
    const total = Number(hash.total ?? 0);
    const ended = terminal.has(status);
    // Output and error files are the batch's results, named by the batch (BatchFiles).
    const skipped = status === 'cancelled' && total > done + failed;
    return {
      id: hash.id,
      object: 'batch',
      endpoint: hash.endpoint ?? 'mixed',
      status: hash.status as BatchStatus,
      created_at: seconds(hash.created_at) ?? 0,
      in_progress_at: seconds(hash.in_progress_at),
      completed_at: seconds(hash.completed_at),
      cancelling_at: seconds(hash.cancelling_at),
      cancelled_at: seconds(hash.cancelled_at),
      expires_at: (seconds(hash.created_at) ?? 0) + this.ttlSeconds,
      request_counts: { total, completed: done, failed },
      metadata: JSON.parse(hash.metadata ?? 'null') as Record<string, string> | null,
      input_file_id: hash.input_file_id || null,
      completion_window: hash.completion_window ?? '24h',
      output_file_id: ended && done > 0 ? batchFileId('out', hash.id) : null,
      error_file_id: ended && (failed > 0 || skipped) ? batchFileId('err', hash.id) : null,
      errors: null,
      failed_at: null,
      finalizing_at: null,
      expired_at: null,
    };
  }

  /** Newest first; `after` is the last id of the previous page. */
  async list(
    limit: number,
    after?: string,
  ): Promise<{
    object: 'list';
    data: BatchView[];
    first_id: string | null;
    last_id: string | null;
    has_more: boolean;
  }> {
    let start = 0;
    if (after) {
      const rank = await this.redis.zrevrank(this.indexKey, after);
      if (rank === null)
        throw new VmmError(ErrorCode.InvalidArgument, `after: batch "${after}" not found`, {
          field: 'after',
        });
      start = rank + 1;
    }
    const ids = await this.redis.zrevrange(this.indexKey, start, start + limit);
    const views: BatchView[] = [];
    for (const id of ids.slice(0, limit)) {
      try {
        views.push(await this.get(id));
      } catch {
        // Expired since it was indexed: drop it from the index.
        await this.redis.zrem(this.indexKey, id);
      }
    }
    return {
      object: 'list',
      data: views,
      first_id: views[0]?.id ?? null,
      last_id: views.at(-1)?.id ?? null,
      has_more: ids.length > limit,
    };
  }

  /** Running items finish; queued ones are skipped; the batch ends as cancelled. */
  async cancel(batchId: string): Promise<BatchView> {
    const view = await this.get(batchId);
    if (view.status === 'cancelled' || view.status === 'cancelling') return view;
    if (terminal.has(view.status)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `batch "${batchId}" is ${view.status} and cannot be cancelled`,
        {
          field: 'batch_id',
        },
      );
    }
    await this.redis.hset(batchKeys(this.prefix, batchId).batch, {
      status: 'cancelling',
      cancelling_at: Date.now(),
    });
    return this.get(batchId);
  }

  /** Whether items of this batch should still run (read by the runner before each item). */
  async isCancelling(batchId: string): Promise<boolean> {
    return (await this.redis.hget(batchKeys(this.prefix, batchId).batch, 'status')) === 'cancelling';
  }

  /** Records an item's outcome in the batch counts; safe to repeat. */
  async recordItem(batchId: string, index: number, result: ItemResult): Promise<void> {
    if (result.skipped) return;
    const keys = batchKeys(this.prefix, batchId);
    await this.count(result.status_code < 400 ? keys.done : keys.failed, index);
  }

  /** Adds an item to a batch's done or failed set (a set: counting one twice is harmless). */
  private async count(key: string, index: number): Promise<void> {
    await this.redis.multi().sadd(key, String(index)).expire(key, this.ttlSeconds).exec();
  }

  private get runnersKey(): string {
    return `${this.prefix}:vmm-runners`;
  }

  /** A runner says it is alive (every few seconds while it runs; see RUNNER_TTL_MS). */
  async runnerAlive(runnerId: string): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .zadd(this.runnersKey, now, runnerId)
      .zremrangebyscore(this.runnersKey, '-inf', now - RUNNER_TTL_MS)
      .exec();
  }

  /** A runner that stops says so at once. */
  async runnerGone(runnerId: string): Promise<void> {
    await this.redis.zrem(this.runnersKey, runnerId);
  }

  /** Runners that have said they are alive within RUNNER_TTL_MS. */
  async runnersAlive(): Promise<number> {
    return this.redis.zcount(this.runnersKey, Date.now() - RUNNER_TTL_MS, '+inf');
  }

  /**
   * Records an item that will not run again (its attempts are spent, or it was quarantined): it
   * counts as failed, and the error file gives its reason (the job's failedReason).
   */
  async recordFailure(batchId: string, index: number): Promise<void> {
    await this.count(batchKeys(this.prefix, batchId).failed, index);
  }

  /** Called when every item has finished: completed, or cancelled if a cancel was asked. */
  async finish(batchId: string): Promise<void> {
    const keys = batchKeys(this.prefix, batchId);
    const status = await this.redis.hget(keys.batch, 'status');
    const now = Date.now();
    if (status === 'cancelling')
      await this.redis.hset(keys.batch, { status: 'cancelled', cancelled_at: now });
    else if (status === 'in_progress')
      await this.redis.hset(keys.batch, { status: 'completed', completed_at: now });
  }

  /** The results as JSONL in input order, once the batch has ended: all, the successes, or the errors. */
  async results(batchId: string, which: 'all' | 'out' | 'err' = 'all'): Promise<string> {
    const view = await this.get(batchId);
    if (!terminal.has(view.status)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `batch "${batchId}" is ${view.status}; results come when it ends`,
        {
          field: 'batch_id',
        },
      );
    }
    const lines: string[] = [];
    for (let index = 0; index < view.request_counts.total; index += 1) {
      const job = await Job.fromId<ItemJobData, ItemResult>(this.items, itemJobId(batchId, index));
      if (!job) continue;
      const id = `batch_req_${batchId.slice(6)}_${index}`;
      const result = job.returnvalue as ItemResult | null | undefined;
      if (result && !result.skipped) {
        // OpenAI's output file holds the answered requests; its error file those answered
        // with an error status, and those that never ran.
        if (which === (result.status_code < 400 ? 'err' : 'out')) continue;
        lines.push(
          JSON.stringify({
            id,
            custom_id: job.data.customId,
            response: { status_code: result.status_code, request_id: job.data.requestId, body: result.body },
            error: null,
          }),
        );
      } else {
        if (which === 'out') continue;
        const error = result?.skipped
          ? { code: 'batch_cancelled', message: 'the batch was cancelled before this request ran' }
          : { code: 'request_failed', message: job.failedReason || 'the request did not complete' };
        lines.push(JSON.stringify({ id, custom_id: job.data.customId, response: null, error }));
      }
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  }

  /** Job counts per queue, for /metrics. */
  async queueCounts(): Promise<Record<string, Record<string, number>>> {
    const states = ['waiting', 'active', 'completed', 'failed', 'delayed', 'waiting-children'] as const;
    return {
      [ITEMS_QUEUE]: await this.items.getJobCounts(...states),
      [BATCHES_QUEUE]: await this.batches.getJobCounts(...states),
    };
  }

  async close(): Promise<void> {
    // Closing a queue whose Redis is away would wait for it: disconnect instead.
    await Promise.race([
      Promise.all([this.items.close(), this.batches.close(), this.flows.close()]),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    for (const connection of this.connections) connection.disconnect();
  }
}
