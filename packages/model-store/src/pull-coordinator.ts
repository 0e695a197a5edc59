import { ErrorCode, VmmError } from '@vmm/errors';
import type { PullProgress } from './hub-pull.js';

type Listener = (line: PullProgress) => void;

interface Running {
  listeners: Set<Listener>;
  /** The latest line per file (by digest) and each status once, in order: a late joiner's replay. */
  history: Map<string, PullProgress>;
  done: Promise<void>;
  controller: AbortController;
}

/**
 * Coalesces pulls: a second pull of a model joins the one under way (its progress so far
 * replayed, then live) instead of downloading again. A caller that goes away only detaches;
 * when the last one has gone the download is stopped (its partial files stay, for a later pull
 * to resume). At most `maxConcurrent` different models are pulled at once.
 */
export class PullCoordinator {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly run: (name: string, progress: Listener, signal: AbortSignal) => Promise<unknown>,
    private readonly maxConcurrent: number,
  ) {}

  /** Models being pulled now. */
  active(): string[] {
    return [...this.running.keys()];
  }

  async pull(name: string, listener: Listener, signal: AbortSignal): Promise<void> {
    let running = this.running.get(name);
    if (!running) {
      if (this.running.size >= this.maxConcurrent)
        throw new VmmError(
          ErrorCode.ResourceExhausted,
          `${this.running.size} pulls are under way (the limit); try again when one ends`,
          { retryAfterMs: 5000 },
        );
      running = this.begin(name);
    } else {
      for (const line of running.history.values()) listener(line);
    }
    const current = running;
    current.listeners.add(listener);
    const leave = () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0) current.controller.abort();
    };
    if (signal.aborted) leave();
    signal.addEventListener('abort', leave, { once: true });
    try {
      await Promise.race([
        current.done,
        new Promise<never>((_, reject) =>
          signal.aborted
            ? reject(cancelled())
            : signal.addEventListener('abort', () => reject(cancelled()), { once: true }),
        ),
      ]);
    } finally {
      signal.removeEventListener('abort', leave);
      current.listeners.delete(listener);
    }
  }

  private begin(name: string): Running {
    const controller = new AbortController();
    const listeners = new Set<Listener>();
    const history = new Map<string, PullProgress>();
    const emit = (line: PullProgress) => {
      history.set(line.digest ?? line.status, line);
      for (const listener of listeners) listener(line);
    };
    // Started on the next tick: the caller's listener is attached by then and sees every line.
    const done = Promise.resolve()
      .then(() => this.run(name, emit, controller.signal))
      .then(() => undefined)
      .catch((error: unknown) => {
        throw controller.signal.aborted ? cancelled() : error;
      })
      .finally(() => this.running.delete(name));
    // Callers see the failure through their own race; this keeps an unobserved one quiet.
    done.catch(() => undefined);
    const running: Running = { listeners, history, done, controller };
    this.running.set(name, running);
    return running;
  }
}

function cancelled(): VmmError {
  return new VmmError(ErrorCode.Cancelled, 'the pull was cancelled');
}
