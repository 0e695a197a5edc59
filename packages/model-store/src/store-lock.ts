import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';

export interface StoreLockOptions {
  /** How long to wait for another holder before answering "busy". */
  waitMs: number;
  /** A holder that has not renewed its claim for this long is taken to have died. */
  staleMs: number;
}

interface Owner {
  pid: number;
  host: string;
  renewedAt: number;
}

const defaults: StoreLockOptions = { waitMs: 30_000, staleMs: 60_000 };

/**
 * One writer at a time in a models directory, across every process that shares it (workers on
 * one host, or pods on one volume): a directory made with mkdir, which either creates it or
 * fails, atomically, on every file system. The holder writes who it is and renews that while it
 * works; a lock whose holder is gone (a dead pid on this host, or no renewal for `staleMs`) is
 * broken. Within a process, callers queue on a promise chain first, so only one of them polls.
 */
export class StoreLock {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dir: string;
  private readonly options: StoreLockOptions;

  constructor(home: string, options: Partial<StoreLockOptions> = {}) {
    this.dir = join(home, 'lock');
    this.options = { ...defaults, ...options };
  }

  /** Runs `work` holding the lock. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(() => this.holding(work));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async holding<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    const renew = setInterval(() => void this.writeOwner().catch(() => undefined), this.options.staleMs / 4);
    renew.unref();
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  private async acquire(): Promise<void> {
    const deadline = Date.now() + this.options.waitMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await mkdir(this.dir, { recursive: false });
        await this.writeOwner();
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          await mkdir(join(this.dir, '..'), { recursive: true });
          continue;
        }
        if (code !== 'EEXIST') throw error;
      }
      const owner = await this.owner();
      if (owner === 'gone') continue;
      if (this.dead(owner)) {
        // Whoever held it died holding it: break it (unless it changed hands meanwhile), and race
        // the others for it afresh.
        const again = await this.owner();
        if (again !== 'gone' && again.pid === owner.pid && again.renewedAt === owner.renewedAt)
          await rm(this.dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new VmmError(
          ErrorCode.Unavailable,
          `the model store is busy${owner.pid ? ` (pid ${owner.pid} on ${owner.host} is writing to it)` : ''}; try again`,
          { retryAfterMs: 1000 },
        );
      // 5, 10, 20 … 100 ms with jitter: quick when the holder is quick, light when it is not.
      const delay = Math.min(100, 5 * 2 ** Math.min(attempt, 5));
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
    }
  }

  private writeOwner(): Promise<void> {
    const owner: Owner = { pid: process.pid, host: hostname(), renewedAt: Date.now() };
    return writeFile(join(this.dir, 'owner.json'), JSON.stringify(owner));
  }

  /**
   * The holder, or 'gone' when the lock went meanwhile. A lock whose owner file is missing or
   * half written (its maker is writing it, or died doing so) is dated by the directory itself.
   */
  private async owner(): Promise<Owner | 'gone'> {
    try {
      const owner = JSON.parse(await readFile(join(this.dir, 'owner.json'), 'utf8')) as Partial<Owner>;
      if (
        typeof owner.pid === 'number' &&
        typeof owner.host === 'string' &&
        typeof owner.renewedAt === 'number'
      )
        return owner as Owner;
    } catch {
      // missing or half written: dated below
    }
    try {
      const made = await stat(this.dir);
      return { pid: 0, host: '', renewedAt: made.mtimeMs };
    } catch {
      return 'gone';
    }
  }

  private dead(owner: Owner): boolean {
    if (Date.now() - owner.renewedAt > this.options.staleMs) return true;
    if (owner.pid === 0 || owner.host !== hostname() || owner.pid === process.pid) return false;
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
}
