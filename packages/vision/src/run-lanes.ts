import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * Where a model's calls may run: one wide lane (a session with every intra-op thread) and
 * narrow lanes (sessions sharing those threads out, one each), never both at once.
 */
export interface Lanes<Lane> {
  wide: Lane;
  narrow: readonly Lane[];
}

interface Waiting<Lane> {
  /** It found every lane it could take busy and had to wait: the model has company. */
  waited: boolean;
  start: (lane: Lane) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  detach: () => void;
}

/**
 * Picks a lane for each call. A call that finds the model idle and nobody behind it runs on the
 * wide lane, as fast as one image can go; once calls have had to wait for one another, they run
 * side by side on the narrow lanes until the model is idle again. On the CPU a single-threaded run scales almost perfectly across cores while a
 * two-threaded one does not: YOLOv8n on 2 cores gave 19.5 images/s from one 2-thread session
 * back to back and 28.5/s from two 1-thread sessions at once (measured). The wide lane never
 * runs beside a narrow one: together they would ask for more threads than there are cores.
 */
export class LaneScheduler<Lane> {
  private readonly queue: Waiting<Lane>[] = [];
  private wideBusy = false;
  private readonly narrowBusy: boolean[];

  constructor(private readonly lanes: Lanes<Lane>) {
    this.narrowBusy = lanes.narrow.map(() => false);
  }

  /** Calls waiting for a lane. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Runs `work` on a lane once one is free; a call aborted while it waits is refused. */
  run<T>(work: (lane: Lane) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting<Lane> = {
        waited: false,
        start: work,
        resolve: resolve as (value: unknown) => void,
        reject,
        detach: () => undefined,
      };
      if (signal) {
        const onAbort = () => {
          const at = this.queue.indexOf(waiting);
          if (at < 0) return; // already running: the lane's own call sees the signal
          this.queue.splice(at, 1);
          reject(cancelled());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(waiting);
      this.pump();
      waiting.waited = true;
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.wideBusy) {
      const free = this.narrowBusy.indexOf(false);
      const narrowRunning = this.narrowBusy.some(Boolean);
      if (narrowRunning && free < 0) return;
      const next = this.queue.shift() as Waiting<Lane>;
      const narrow = free >= 0 && (narrowRunning || next.waited || this.queue.length > 0);
      next.detach();
      if (narrow) {
        this.narrowBusy[free] = true;
        this.start(next, this.lanes.narrow[free] as Lane, () => (this.narrowBusy[free] = false));
      } else {
        this.wideBusy = true;
        this.start(next, this.lanes.wide, () => (this.wideBusy = false));
      }
    }
  }

  private start(waiting: Waiting<Lane>, lane: Lane, free: () => void): void {
    let running: Promise<unknown>;
    try {
      running = waiting.start(lane);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(waiting.resolve, waiting.reject).finally(() => {
      free();
      this.pump();
    });
  }
}

const cancelled = () => new VmmError(ErrorCode.Cancelled, 'the request was cancelled before it ran');
