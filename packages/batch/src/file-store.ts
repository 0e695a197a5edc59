import { randomUUID } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { Redis } from 'ioredis';

/** OpenAI's File object, as `/v1/files` shows it (times in Unix seconds). */
export interface FileView {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
}

export interface FileStoreOptions {
  redis: Redis;
  prefix: string;
  /** Files expire with the batches made from them. */
  ttlMs: number;
  /** Bytes per file, and files kept at once. */
  maxBytes: number;
  maxFiles: number;
}

/** The purposes VMM serves a use for; the others OpenAI knows are refused by name. */
export const FILE_PURPOSES = ['batch', 'batch_output'] as const;

/**
 * Files for the OpenAI batch flow (`files.create({ purpose: "batch" })`, then
 * `batches.create({ input_file_id })`), kept in Redis beside the batches with the same expiry,
 * bounded in size and count. A batch's output and error files are not stored twice: their ids
 * name the batch, and their content is its results.
 */
export class FileStore {
  private readonly ttlSeconds: number;

  constructor(private readonly options: FileStoreOptions) {
    this.ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));
  }

  private key(id: string): string {
    return `${this.options.prefix}:vmm-file:${id}`;
  }

  private get indexKey(): string {
    return `${this.options.prefix}:vmm-files`;
  }

  async create(content: Buffer, filename: string, purpose: string): Promise<FileView> {
    if (!(FILE_PURPOSES as readonly string[]).includes(purpose) || purpose === 'batch_output')
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `purpose "${purpose.slice(0, 40)}" is not supported: VMM stores files for batches (purpose "batch")`,
        { field: 'purpose' },
      );
    if (content.byteLength > this.options.maxBytes)
      throw new VmmError(
        ErrorCode.PayloadTooLarge,
        `the file is larger than ${this.options.maxBytes} bytes`,
        {
          field: 'file',
        },
      );
    await this.dropExpired();
    if ((await this.options.redis.zcard(this.indexKey)) >= this.options.maxFiles)
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `${this.options.maxFiles} files are stored (the limit); delete some first`,
        { field: 'file' },
      );
    const id = `file-${randomUUID().replaceAll('-', '')}`;
    const now = Date.now();
    await this.options.redis
      .multi()
      .hset(this.key(id), {
        id,
        bytes: content.byteLength,
        created_at: now,
        filename: filename.slice(0, 256),
        purpose,
        content,
      })
      .expire(this.key(id), this.ttlSeconds)
      .zadd(this.indexKey, now, id)
      .exec();
    return this.get(id);
  }

  async get(id: string): Promise<FileView> {
    const [created, bytes, filename, purpose] = await this.options.redis.hmget(
      this.key(id),
      'created_at',
      'bytes',
      'filename',
      'purpose',
    );
    if (!created) throw notFound(id);
    return this.view(id, Number(created), Number(bytes), filename ?? '', purpose ?? 'batch');
  }

  view(id: string, createdMs: number, bytes: number, filename: string, purpose: string): FileView {
    const created = Math.floor(createdMs / 1000);
    return {
      id,
      object: 'file',
      bytes,
      created_at: created,
      expires_at: created + this.ttlSeconds,
      filename,
      purpose,
      status: 'processed',
      status_details: null,
    };
  }

  async content(id: string): Promise<Buffer> {
    const content = await this.options.redis.hgetBuffer(this.key(id), 'content');
    if (!content) throw notFound(id);
    return content;
  }

  async remove(id: string): Promise<{ id: string; object: 'file'; deleted: true }> {
    const removed = await this.options.redis.del(this.key(id));
    await this.options.redis.zrem(this.indexKey, id);
    if (removed === 0) throw notFound(id);
    return { id, object: 'file', deleted: true };
  }

  /** Newest first, OpenAI's list shape; `after` is the last id of the previous page. */
  async list(
    limit: number,
    after: string | undefined,
    purpose: string | undefined,
  ): Promise<{
    object: 'list';
    data: FileView[];
    first_id: string | null;
    last_id: string | null;
    has_more: boolean;
  }> {
    await this.dropExpired();
    const ids = await this.options.redis.zrevrange(this.indexKey, 0, -1);
    const start = after === undefined ? 0 : ids.indexOf(after) + 1;
    if (after !== undefined && start === 0)
      throw new VmmError(ErrorCode.InvalidArgument, `after: file "${after}" not found`, { field: 'after' });
    const data: FileView[] = [];
    let more = false;
    for (const id of ids.slice(start)) {
      const view = await this.get(id).catch(() => undefined);
      if (!view || (purpose !== undefined && view.purpose !== purpose)) continue;
      if (data.length === limit) {
        more = true;
        break;
      }
      data.push(view);
    }
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: more,
    };
  }

  /** Index entries whose file has expired. */
  private async dropExpired(): Promise<void> {
    const cutoff = Date.now() - this.ttlSeconds * 1000;
    await this.options.redis.zremrangebyscore(this.indexKey, '-inf', cutoff);
  }
}

function notFound(id: string): VmmError {
  return new VmmError(ErrorCode.NotFound, `file "${id.slice(0, 80)}" not found`, { field: 'file_id' });
}
