import { ErrorCode, VmmError } from '@vmm/errors';
import type { Redis } from 'ioredis';

/** What `/readyz` says of Redis: answering, connected but silent past the bound, or unreachable. */
export type RedisState = 'ready' | 'not responding' | 'unreachable';

/**
 * Watches the gateway's Redis with a PING bounded like every command (the client's
 * `commandTimeout`). A Redis that is down closes its connection and is seen at once; one that is
 * stopped or overloaded keeps it open and goes silent, which only a bounded command can tell.
 * While it is not `ready`, files and batches answer 503 at once instead of each waiting out the
 * bound; the rest of the API never waits on Redis.
 */
export class RedisHealth {
  // Until a probe says otherwise, a connected Redis answers (state() reads the connection first).
  private last: RedisState = 'ready';
  private probing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    /** Redis's address without credentials, for messages. */
    private readonly url: string,
    private readonly timeoutMs: number,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.probe(), intervalMs);
    this.timer.unref();
    redis.on('ready', () => void this.probe());
  }

  state(): RedisState {
    return this.redis.status === 'ready' ? this.last : 'unreachable';
  }

  /** Throws 503 (Retry-After) unless Redis answers; `what` says what needs it. */
  check(what: string): void {
    const state = this.state();
    if (state !== 'ready')
      throw new VmmError(
        ErrorCode.Unavailable,
        state === 'unreachable'
          ? `${what} need Redis at ${this.url}, which does not answer; the rest of the API works without it`
          : `${what} need Redis at ${this.url}, which has not answered within ${this.timeoutMs} ms (VMM_REDIS_TIMEOUT); the rest of the API works without it`,
        { retryAfterMs: 5000 },
      );
  }

  /**
   * A Redis failure met mid-request (a command past its bound, a connection lost) as the 503 it
   * is, never a 500; anything else as it was.
   */
  failure(error: unknown): unknown {
    if (error instanceof VmmError || !(error instanceof Error)) return error;
    const timedOut = error.message === 'Command timed out';
    const lost =
      error.name === 'MaxRetriesPerRequestError' ||
      /^(Connection is closed|Stream isn't writeable)|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(error.message);
    if (!timedOut && !lost) return error;
    if (timedOut) this.last = 'not responding';
    return new VmmError(
      ErrorCode.Unavailable,
      timedOut
        ? `Redis at ${this.url} did not answer within ${this.timeoutMs} ms (VMM_REDIS_TIMEOUT); try again later`
        : `the connection to Redis at ${this.url} was lost; try again later`,
      { retryAfterMs: 5000, cause: error },
    );
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    // One probe at a time: a silent Redis is already marked by the one still waiting.
    if (this.probing || this.redis.status !== 'ready') return;
    this.probing = true;
    try {
      await this.redis.ping();
      this.last = 'ready';
    } catch (error) {
      this.last =
        error instanceof Error && error.message === 'Command timed out' ? 'not responding' : 'unreachable';
    } finally {
      this.probing = false;
    }
  }
}
