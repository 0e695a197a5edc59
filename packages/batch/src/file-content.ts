import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * Where the bytes of uploaded files live. Redis keeps each file's metadata only: a file is
 * streamed in and out with bounded memory, whatever its size.
 */
export interface FileContent {
  /** Where the bytes go, for logs and readiness (never a credential). */
  readonly where: string;
  /**
   * Streams `source` under `id`, at most `maxBytes`; returns the byte count. On any failure
   * (too large, the client gone, the store failing) nothing is left under `id`.
   */
  put(id: string, source: Readable, maxBytes: number): Promise<number>;
  /** The bytes as a stream; NotFound when there are none. */
  read(id: string): Promise<Readable>;
  /** Removes the bytes; nothing happens when there are none. */
  remove(id: string): Promise<void>;
  /**
   * Removes bytes last written before `cutoffMs` whatever their metadata says (left by a gateway
   * that died mid-upload); a store with its own expiry (an object store's lifecycle rule) has none.
   */
  sweep?(cutoffMs: number): Promise<number>;
}

/** The ids FileStore makes; anything else never reaches a path or an object key. */
const ID = /^file-[0-9a-f]{32}$/;

export function checkFileId(id: string): string {
  if (!ID.test(id))
    throw new VmmError(ErrorCode.Internal, 'a file id of the wrong form reached the file store');
  return id;
}

export function tooLarge(maxBytes: number): VmmError {
  return new VmmError(ErrorCode.PayloadTooLarge, `the file is larger than ${maxBytes} bytes`, {
    field: 'file',
  });
}

/** Passes bytes through, and fails the stream (PayloadTooLarge) once more than `maxBytes` pass. */
export class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.maxBytes) done(tooLarge(this.maxBytes));
    else done(null, chunk);
  }
}

/**
 * A source that fails before it is read (the client gone while the directory is made) must not
 * raise an unhandled 'error': the failure still reaches the reader (pipeline, iteration) through
 * the stream's errored state.
 */
export function holdErrors(source: Readable): void {
  source.on('error', () => undefined);
}

function diskFailure(error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code ?? 'an error';
  throw new VmmError(
    ErrorCode.Unavailable,
    `the files directory cannot be written (${code}); see VMM_FILES_STORE`,
    {
      retryAfterMs: 5000,
    },
  );
}

export function notFound(id: string): VmmError {
  return new VmmError(ErrorCode.NotFound, `file "${id.slice(0, 80)}" not found`, { field: 'file_id' });
}

/**
 * Files on a local disk (a dev box, one gateway; or a volume every gateway mounts). Each is
 * written under a temporary name and renamed into place, so a reader never sees half a file.
 */
export class DiskFileContent implements FileContent {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get where(): string {
    return this.dir;
  }

  async put(id: string, source: Readable, maxBytes: number): Promise<number> {
    const path = join(this.dir, checkFileId(id));
    const partial = `${path}.part`;
    holdErrors(source);
    const limit = new ByteLimit(maxBytes);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 }).catch(diskFailure);
      await pipeline(source, limit, createWriteStream(partial, { flags: 'wx', mode: 0o600 })).catch(
        (error: unknown) => {
          // The disk's own failures (full, read-only, no permission) are the store's, said
          // without the server's path; the source's (too large, the client gone) pass as they are.
          if ((error as NodeJS.ErrnoException).syscall !== undefined) diskFailure(error);
          throw error;
        },
      );
      await rename(partial, path).catch(diskFailure);
      return limit.bytes;
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  async read(id: string): Promise<Readable> {
    const path = join(this.dir, checkFileId(id));
    try {
      // Opened before it is handed out: a missing file is a 404, not a broken stream.
      await stat(path);
    } catch {
      throw notFound(id);
    }
    return createReadStream(path);
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, checkFileId(id)), { force: true });
  }

  /**
   * Removes files last written before `cutoffMs` (expired with their metadata, or left by a
   * gateway that died mid-upload); returns how many went.
   */
  async sweep(cutoffMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (!ID.test(name.replace(/\.part$/, ''))) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoffMs) {
        await rm(path, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
