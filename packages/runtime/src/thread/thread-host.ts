import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode, VmmError } from '@vmm/errors';
import { deserializeError, type HostMessage, STREAM_ACK_EVERY, type ThreadMessage } from './protocol.js';

interface Pending {
  onNext(value: unknown): void;
  onDone(value: unknown): void;
  onError(error: VmmError): void;
}

/** How ThreadHost.watch checks on its thread. */
export interface ThreadWatch {
  /** How often the thread is pinged. */
  intervalMs: number;
  /**
   * A thread that answers no ping for this long while no native run is pending has its event
   * loop stuck in JavaScript (a runaway loop): its calls fail with UNAVAILABLE, its owner is
   * told (onExit) and it is terminated. (During a native run the thread cannot answer: runs are
   * synchronous in onnxruntime-node; those are bounded by runTimeoutMs instead.)
   */
  unresponsiveMs: number;
  /**
   * A native run (session.run, a load) pending this long is stuck: `onStuckRun` is told, once.
   * The thread cannot be ended mid-run (native code ignores termination, and a run that then
   * returns into a terminated thread aborts the process, see native-runs.ts): the owner decides,
   * e.g. the worker process exits so that its supervisor starts it afresh.
   */
  runTimeoutMs: number;
  onStuckRun(runMs: number): void;
}

export interface ThreadCallOptions {
  signal?: AbortSignal;
  /** Buffers to move rather than copy into the thread (e.g. image bytes). */
  transfer?: ArrayBuffer[];
}

/**
 * The owning side of a session thread: models run in a worker thread so that a blocking
 * `session.run` never stalls this thread's event loop (health checks, other requests,
 * cancellations keep flowing).
 */
export class ThreadHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: VmmError | undefined;
  private readonly exitListeners: ((error: VmmError) => void)[] = [];
  private closing = false;
  private watchdog: NodeJS.Timeout | undefined;
  private onPong: ((message: Extract<ThreadMessage, { kind: 'pong' }>) => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    /** Where the thread marks a pending native run (ms since the epoch, 0: none). */
    private readonly runClock: BigInt64Array | undefined,
  ) {
    worker.on('message', (message: ThreadMessage) => this.dispatch(message));
    // A thread that dies (out of memory, a native crash) fails its calls with UNAVAILABLE and a
    // retry hint: the owner replaces it, and the same request succeeds on the new one.
    worker.on('error', (error: Error & { code?: string }) =>
      this.fail(
        new VmmError(
          ErrorCode.Unavailable,
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? 'the model thread ran out of memory and is being replaced; retry'
            : `the model thread crashed (${error.message}) and is being replaced; retry`,
          { cause: error, retryAfterMs: 1000 },
        ),
      ),
    );
    worker.on('exit', (code) =>
      this.fail(
        new VmmError(ErrorCode.Unavailable, `the model thread exited (code ${code})`, { retryAfterMs: 1000 }),
      ),
    );
  }

  /** Starts `entry` (a module calling serveThread) and waits until it serves. */
  static async start(
    entry: URL,
    workerData?: unknown,
    options: { heapMb?: number } = {},
  ): Promise<ThreadHost> {
    const worker = new Worker(fileURLToPath(entry), {
      workerData,
      ...(options.heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.heapMb } }),
    });
    let runClock: BigInt64Array | undefined;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: ThreadMessage) => {
        if (message.kind !== 'ready') return;
        if (message.runClock) runClock = new BigInt64Array(message.runClock);
        cleanup();
        resolve();
      };
      const onError = (error: Error) => {
        cleanup();
        reject(
          new VmmError(ErrorCode.Internal, `model thread failed to start: ${error.message}`, {
            cause: error,
          }),
        );
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new VmmError(ErrorCode.Internal, `model thread exited during start (code ${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return new ThreadHost(worker, runClock);
  }

  /** Calls a method that answers once. */
  request<T>(method: string, payload: unknown, options: ThreadCallOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.call(method, payload, options, {
        onNext: () => undefined,
        onDone: (value) => resolve(value as T),
        onError: reject,
      });
      if (id !== undefined) this.cancelOnAbort(id, options.signal);
    });
  }

  /** Calls a method that streams; breaking out of the loop cancels the call. */
  async *stream<T>(method: string, payload: unknown, options: ThreadCallOptions = {}): AsyncGenerator<T> {
    const queue: T[] = [];
    let finished = false;
    let failure: VmmError | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const id = this.call(method, payload, options, {
      onNext: (value) => {
        queue.push(value as T);
        notify();
      },
      onDone: () => {
        finished = true;
        notify();
      },
      onError: (error) => {
        failure = error;
        finished = true;
        notify();
      },
    });
    if (id === undefined) throw failure ?? this.exited;
    const detach = this.cancelOnAbort(id, options.signal);
    let unacknowledged = 0;
    try {
      for (;;) {
        if (queue.length > 0) {
          const value = queue.shift() as T;
          unacknowledged += 1;
          if (unacknowledged === STREAM_ACK_EVERY) {
            this.post({ kind: 'ack', id, count: unacknowledged });
            unacknowledged = 0;
          }
          yield value;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure) throw failure;
    } finally {
      detach();
      if (!finished) {
        this.post({ kind: 'cancel', id });
        this.pending.delete(id);
      }
    }
  }

  /**
   * Pings the thread every `intervalMs` from now on: one that stops answering is ended as a
   * crash would be, and a native run that does not return is reported (see ThreadWatch).
   */
  watch(options: ThreadWatch): void {
    clearInterval(this.watchdog);
    let sent = 0;
    let waiting: { id: number; at: number } | undefined;
    let reportedRun = 0;
    // Silence counts from the later of the ping and the last native run seen: a ping sent just
    // before a long run is answered only after it.
    let lastRunSeen = 0;
    this.onPong = (message) => {
      if (message.id === waiting?.id) waiting = undefined;
    };
    this.watchdog = setInterval(() => {
      if (this.exited) return clearInterval(this.watchdog);
      const now = Date.now();
      const runStart = this.runClock ? Number(Atomics.load(this.runClock, 0)) : 0;
      if (runStart > 0) {
        lastRunSeen = now;
        // In a native run: silence is expected; a run past its bound is reported, once per run.
        if (now - runStart >= options.runTimeoutMs && reportedRun !== runStart) {
          reportedRun = runStart;
          options.onStuckRun(now - runStart);
        }
        return;
      }
      if (waiting) {
        const silentMs = now - Math.max(waiting.at, lastRunSeen);
        if (silentMs < options.unresponsiveMs) return;
        clearInterval(this.watchdog);
        this.fail(
          new VmmError(
            ErrorCode.Unavailable,
            `the model thread answered nothing for ${Math.round(silentMs / 1000)} s (stuck) and was ended; retry`,
            { retryAfterMs: 1000 },
          ),
        );
        void this.worker.terminate();
        return;
      }
      sent += 1;
      waiting = { id: sent, at: now };
      this.worker.postMessage({ kind: 'ping', id: sent } satisfies HostMessage);
    }, options.intervalMs);
    // The watchdog never keeps a process alive by itself.
    this.watchdog.unref();
  }

  /** Stops the thread; pending calls fail with UNAVAILABLE. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await this.worker.terminate();
  }

  /**
   * Calls `listener` once if the thread dies on its own (not by close): its owner replaces it.
   * A thread that has died already calls it at once.
   */
  onExit(listener: (error: VmmError) => void): void {
    if (this.exited) {
      if (!this.closing) listener(this.exited);
      return;
    }
    this.exitListeners.push(listener);
  }

  /**
   * Ends the thread as a crash would: its calls fail with UNAVAILABLE and onExit listeners run.
   * The thread is asked to exit between native runs (see nativeRun); one that does not within
   * `graceMs` (stuck in JavaScript, where no run is pending) is terminated.
   */
  async kill(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ kind: 'exit' } satisfies HostMessage);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([gone, late])) === 'late') await this.worker.terminate();
    clearTimeout(timer);
  }

  private call(
    method: string,
    payload: unknown,
    options: ThreadCallOptions,
    pending: Pending,
  ): number | undefined {
    if (this.exited) {
      pending.onError(this.exited);
      return undefined;
    }
    const id = this.nextId++;
    this.pending.set(id, pending);
    try {
      this.post({ kind: 'call', id, method, payload }, options.transfer);
    } catch (error) {
      // A payload that cannot be copied to the thread (a view of a buffer moved away already).
      this.pending.delete(id);
      pending.onError(
        new VmmError(
          ErrorCode.InvalidArgument,
          `${method}: the call cannot go to the model's thread: ${(error as Error).message} (was its buffer moved to a thread already? pass a copy)`,
          { cause: error },
        ),
      );
      return undefined;
    }
    return id;
  }

  private cancelOnAbort(id: number, signal: AbortSignal | undefined): () => void {
    if (!signal) return () => undefined;
    const onAbort = () => this.post({ kind: 'cancel', id });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  private post(message: HostMessage, transfer?: ArrayBuffer[]): void {
    if (this.exited) return;
    // Node drops a message, without a word, whose transfer list holds a detached buffer (one moved
    // to a thread already): its call would wait for ever. Empty buffers (a detached one is empty)
    // are left out of the list; a payload that still holds a view of a detached buffer then fails
    // to copy, loudly (see call).
    this.worker.postMessage(
      message,
      transfer?.filter((buffer) => buffer.byteLength > 0),
    );
  }

  private dispatch(message: ThreadMessage): void {
    if (message.kind === 'ready') return;
    if (message.kind === 'pong') {
      this.onPong?.(message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.kind === 'next') pending.onNext(message.value);
    else {
      this.pending.delete(message.id);
      if (message.kind === 'done') pending.onDone(message.value);
      else pending.onError(deserializeError(message.error));
    }
  }

  private fail(error: VmmError): void {
    if (this.exited) return;
    this.exited = error;
    clearInterval(this.watchdog);
    for (const pending of this.pending.values()) pending.onError(error);
    this.pending.clear();
    if (!this.closing) for (const listener of this.exitListeners.splice(0)) listener(error);
  }
}

/**
 * The URL of a thread entry module next to `from`. Under jest, sources run as TypeScript that
 * a worker thread cannot load, so a `src/` path maps to the package's built `dist/` twin
 * (turbo builds every package before its tests).
 */
export function threadEntry(from: string, entry: string): URL {
  const url = new URL(entry, from);
  if (from.endsWith('.ts') && url.pathname.includes('/src/')) {
    return new URL(url.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
  }
  return url;
}
