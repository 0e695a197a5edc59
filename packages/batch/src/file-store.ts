import { randomUUID } from 'node:crypto';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { notFound, type FileContent } from './file-content.js';

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
  /** Where the bytes live: Redis keeps each file's metadata only. */
  content: FileContent;
  /** Files expire with the batches made from them. */
  ttlMs: number;
  /** Bytes per file, and files kept at once. */
  maxBytes: number;
  maxFiles: number;
}

/** A file's bytes, stored but not yet a file: `commit` makes it one, `discard` removes them. */
export interface ReceivedFile {
  id: string;
  bytes: number;
}

/** How often bytes without metadata are looked for (a directory listing). */
const SWEEP_EVERY_MS = 10 * 60_000;

/** The purposes VMM serves a use for; the others OpenAI knows are refused by name. */
export const FILE_PURPOSES = ['batch', 'batch_output'] as const;

/**
 * Files for the OpenAI batch flow (`files.create({ purpose: "batch" })`, then
 * `batches.create({ input_file_id })`): metadata in Redis beside the batches with the same
 * expiry, bytes streamed to a FileContent (a disk, an object store), bounded in size and count.
 * A batch's output and error files are not stored twice: their ids name the batch, and their
 * content is its results.
 */
export class FileStore {
  private readonly ttlSeconds: number;
  private sweptAt = 0;

  constructor(private readonly options: FileStoreOptions) {
    this.ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));
  }

  get where(): string {
    return this.options.content.where;
  }

  private key(id: string): string {
    return `${this.options.prefix}:vmm-file:${id}`;
  }

  private get indexKey(): string {
    return `${this.options.prefix}:vmm-files`;
  }

  /**
   * Streams an upload's bytes to the content store, at most maxBytes (PayloadTooLarge past it,
   * nothing kept). Refused before a byte is read when the store holds its most files.
   */
  async receive(source: Readable): Promise<ReceivedFile> {
    await this.dropExpired();
    if ((await this.options.redis.zcard(this.indexKey)) >= this.options.maxFiles) {
      source.resume();
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `${this.options.maxFiles} files are stored (the limit); delete some first`,
        { field: 'file' },
      );
    }
    const id = `file-${randomUUID().replaceAll('-', '')}`;
    const bytes = await this.options.content.put(id, source, this.options.maxBytes);
    return { id, bytes };
  }

  /** Makes received bytes a file with its name and purpose; on any refusal they are removed. */
  async commit(received: ReceivedFile, filename: string, purpose: string | undefined): Promise<FileView> {
    try {
      if (!purpose)
        throw new VmmError(ErrorCode.InvalidArgument, 'purpose is required', { field: 'purpose' });
      if (!(FILE_PURPOSES as readonly string[]).includes(purpose) || purpose === 'batch_output')
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `purpose "${purpose.slice(0, 40)}" is not supported: VMM stores files for batches (purpose "batch")`,
          { field: 'purpose' },
        );
      const now = Date.now();
      const { id, bytes } = received;
      await this.options.redis
        .multi()
        .hset(this.key(id), { id, bytes, created_at: now, filename: filename.slice(0, 256), purpose })
        .expire(this.key(id), this.ttlSeconds)
        .zadd(this.indexKey, now, id)
        .exec();
      return this.view(id, now, bytes, filename.slice(0, 256), purpose);
    } catch (error) {
      await this.discard(received);
      throw error;
    }
  }

  /** Removes received bytes that will not become a file. */
  async discard(received: ReceivedFile): Promise<void> {
    await this.options.content.remove(received.id).catch(() => undefined);
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

  /** The file's bytes, streamed from the content store. */
  async content(id: string): Promise<Readable> {
    await this.get(id);
    return this.options.content.read(id);
  }

  async remove(id: string): Promise<{ id: string; object: 'file'; deleted: true }> {
    const removed = await this.options.redis.del(this.key(id));
    await this.options.redis.zrem(this.indexKey, id);
    if (removed === 0) throw notFound(id);
    await this.options.content.remove(id);
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

  /** Files that have expired: their index entries and their bytes (their metadata expires by itself). */
  private async dropExpired(): Promise<void> {
    const now = Date.now();
    const cutoff = now - this.ttlSeconds * 1000;
    if (this.options.content.sweep && now - this.sweptAt > SWEEP_EVERY_MS) {
      this.sweptAt = now;
      await this.options.content.sweep(cutoff).catch(() => 0);
    }
    const expired = await this.options.redis.zrangebyscore(this.indexKey, '-inf', cutoff);
    if (expired.length === 0) return;
    for (const id of expired) await this.options.content.remove(id).catch(() => undefined);
    await this.options.redis.zrem(this.indexKey, ...expired);
  }
}
