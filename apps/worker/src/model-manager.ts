import { ErrorCode, VmmError } from '@vmm/errors';
import { canonicalModelName } from '@vmm/model-store';
import {
  MODEL_TASKS,
  type Backend,
  inspectModelFolder,
  type ModelFolder,
  type ModelTask,
  selectModelFile,
} from '@vmm/runtime';
import type { ModelRunner } from './model-runner.js';

export interface ModelManagerOptions {
  modelsDir: string;
  backend: Backend;
  /** Default keep-alive (ms): 0 unloads after the request, negative keeps forever. */
  keepAliveMs: number;
  maxLoaded: number;
  maxRunning: number;
  /** Running requests per text-generation model: its scheduler batches them. */
  maxBatch?: number;
  maxQueue: number;
  /** Opens a model's runner; injected so the manager's policy is testable on its own. */
  open: (folder: ModelFolder, file: string) => Promise<ModelRunner>;
  now?: () => number;
  /** Told of each load and how long it took (metrics). */
  onLoaded?: (name: string, seconds: number) => void;
  /** Told when a loaded model's thread died on its own (it is loaded again on its next use). */
  onLost?: (name: string, error: VmmError) => void;
  /**
   * Each loaded model's thread is watched (ThreadHost.watch): one stuck in JavaScript is ended
   * (then onLost), and a native run past `runTimeoutMs` is told to `onStuckRun`.
   */
  watchdog?: {
    intervalMs: number;
    unresponsiveMs: number;
    runTimeoutMs: number;
    onStuckRun: (name: string, runMs: number) => void;
  };
}

export interface Lease {
  model: ModelRunner;
  folder: ModelFolder;
  /** Time this request spent loading the model (0 when it was loaded already). */
  loadNs: number;
  /** Ends the request; keepAliveMs (if given) sets when the idle model unloads. */
  release(keepAliveMs?: number): void;
}

export interface LoadedModelState {
  name: string;
  folder: ModelFolder;
  file: string;
  model: ModelRunner;
  running: number;
  queued: number;
  /** Unix ms when keep-alive unloads it; undefined while busy or kept forever. */
  expiresAtMs: number | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  resolve(): void;
  reject(error: VmmError): void;
}

interface Entry {
  name: string;
  folder: ModelFolder;
  file: string;
  model?: ModelRunner;
  loading?: Promise<ModelRunner>;
  running: number;
  waiters: Waiter[];
  /** A tick of the manager's recency clock. */
  lastUsed: number;
  expiresAtMs?: number;
  timer?: NodeJS.Timeout;
  unloadWhenIdle: boolean;
}

/**
 * Which models are loaded, and who may use them: loads on first use (concurrent loads of one
 * model coalesce), limits running requests per model with a bounded queue (RESOURCE_EXHAUSTED
 * beyond it, at once), unloads idle models after their keep-alive and evicts the least recently
 * used idle model when a new one would exceed the limit.
 */
export class ModelManager {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  /** Recency ticks for LRU: timestamps tie when requests end in the same millisecond. */
  private clock = 0;
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Acquires a running slot on `name`, loading it if needed. */
  async acquire(
    name: string,
    request: {
      tasks: readonly ModelTask[];
      keepAliveMs?: number | undefined;
      signal?: AbortSignal;
      /** The request sends pictures: a model that cannot read them is refused before it loads. */
      images?: boolean;
    },
  ): Promise<Lease> {
    if (this.closed) throw new VmmError(ErrorCode.Unavailable, 'the worker is shutting down');
    const entry = this.entry(canonicalModelName(name));
    if (!request.tasks.includes(entry.folder.task)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `model "${name}" is a ${entry.folder.task} model; this call needs ${request.tasks.join(' or ')}`,
        { field: 'model' },
      );
    }
    if (request.images && !entry.folder.takesImages) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `model "${entry.name}" does not read images (it is a text-only model); send text only, or choose a vision-language model`,
        { field: 'images' },
      );
    }
    await this.takeSlot(entry, request.signal);
    let loadNs = 0;
    try {
      if (!entry.model) {
        const started = performance.now();
        await this.loadRunner(entry);
        loadNs = Math.round((performance.now() - started) * 1e6);
        this.options.onLoaded?.(entry.name, loadNs / 1e9);
      }
    } catch (error) {
      this.giveBackSlot(entry, this.options.keepAliveMs);
      throw error;
    }
    const model = entry.model;
    if (!model) {
      // Its thread died between the load and this request.
      this.giveBackSlot(entry, this.options.keepAliveMs);
      throw new VmmError(ErrorCode.Unavailable, `the thread of "${entry.name}" died as it loaded; retry`, {
        retryAfterMs: 1000,
      });
    }
    let released = false;
    return {
      model,
      folder: entry.folder,
      loadNs,
      release: (keepAliveMs) => {
        if (released) return;
        released = true;
        this.giveBackSlot(entry, keepAliveMs ?? request.keepAliveMs ?? this.options.keepAliveMs);
      },
    };
  }

  /** Loads a model now (Models.Load); returns the load time, 0 when it was loaded already. */
  async load(name: string, keepAliveMs?: number): Promise<{ state: LoadedModelState; loadNs: number }> {
    const lease = await this.acquire(name, {
      tasks: MODEL_TASKS,
      keepAliveMs,
    });
    lease.release();
    const canonical = canonicalModelName(name);
    const state = this.loaded().find((model) => model.name === canonical);
    if (!state) throw new VmmError(ErrorCode.Internal, `model "${name}" unloaded while loading`);
    return { state, loadNs: lease.loadNs };
  }

  /** Unloads a model once its running requests end; false when it was not loaded. */
  async unload(name: string): Promise<boolean> {
    const entry = this.entries.get(canonicalModelName(name));
    if (!entry || (!entry.model && !entry.loading)) return false;
    if (entry.running > 0 || entry.waiters.length > 0) {
      entry.unloadWhenIdle = true;
      return true;
    }
    await this.evict(entry);
    return true;
  }

  /** Requests running on or waiting for `name` here. */
  busy(name: string): number {
    const entry = this.entries.get(canonicalModelName(name));
    return entry ? entry.running + entry.waiters.length : 0;
  }

  loaded(): LoadedModelState[] {
    return [...this.entries.values()]
      .filter((entry): entry is Entry & { model: ModelRunner } => entry.model !== undefined)
      .map((entry) => ({
        name: entry.name,
        folder: entry.folder,
        file: entry.file,
        model: entry.model,
        running: entry.running,
        queued: entry.waiters.length,
        expiresAtMs: entry.running > 0 ? undefined : entry.expiresAtMs,
      }));
  }

  totals(): { running: number; queued: number } {
    let running = 0;
    let queued = 0;
    for (const entry of this.entries.values()) {
      running += entry.running;
      queued += entry.waiters.length;
    }
    return { running, queued };
  }

  /** Refuses new work, fails queued requests and releases every model. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.entries.values()) {
      for (const waiter of entry.waiters.splice(0))
        waiter.reject(new VmmError(ErrorCode.Unavailable, 'the worker is shutting down'));
    }
    await Promise.all([...this.entries.values()].map((entry) => this.evict(entry)));
  }

  private entry(name: string): Entry {
    const existing = this.entries.get(name);
    if (existing) return existing;
    const folder = inspectModelFolder(this.options.modelsDir, name);
    const entry: Entry = {
      name,
      folder,
      file: selectModelFile(folder, this.options.backend).path,
      running: 0,
      waiters: [],
      lastUsed: ++this.clock,
      unloadWhenIdle: false,
    };
    this.entries.set(name, entry);
    return entry;
  }

  private async takeSlot(entry: Entry, signal: AbortSignal | undefined): Promise<void> {
    this.cancelExpiry(entry);
    const limit =
      entry.folder.task === 'text-generation'
        ? (this.options.maxBatch ?? this.options.maxRunning)
        : this.options.maxRunning;
    if (entry.running < limit) {
      entry.running += 1;
      return;
    }
    if (entry.waiters.length >= this.options.maxQueue) {
      throw new VmmError(
        ErrorCode.ResourceExhausted,
        `model "${entry.name}" is busy: ${entry.running} running and ${entry.waiters.length} queued requests`,
        { retryAfterMs: 1000 },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        const index = entry.waiters.indexOf(waiter);
        if (index >= 0) entry.waiters.splice(index, 1);
        reject(new VmmError(ErrorCode.Cancelled, 'the request was cancelled while queued'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.waiters.push(waiter);
    });
  }

  private giveBackSlot(entry: Entry, keepAliveMs: number): void {
    entry.lastUsed = ++this.clock;
    const next = entry.waiters.shift();
    if (next) {
      next.resolve(); // the slot passes straight to the next request
      return;
    }
    entry.running -= 1;
    if (entry.running > 0) return;
    if (entry.unloadWhenIdle || keepAliveMs === 0) {
      void this.evict(entry);
    } else if (keepAliveMs > 0 && entry.model) {
      entry.expiresAtMs = this.now() + keepAliveMs;
      this.armExpiry(entry, entry.expiresAtMs);
    } else {
      entry.expiresAtMs = undefined;
    }
  }

  /**
   * Unloads the idle `entry` at `expiresAtMs`. A timer runs at most 2^31-1 ms (about 24.8 days;
   * Node fires a longer one at once): a longer keep-alive waits in steps.
   */
  private armExpiry(entry: Entry, expiresAtMs: number): void {
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs - this.now()));
    entry.timer = setTimeout(() => {
      if (this.now() < expiresAtMs) return this.armExpiry(entry, expiresAtMs);
      if (entry.running === 0 && entry.waiters.length === 0) void this.evict(entry);
    }, wait);
    entry.timer.unref();
  }

  private cancelExpiry(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.expiresAtMs = undefined;
  }

  /** Loads `entry`, coalescing concurrent loads and evicting idle models beyond the limit. */
  private loadRunner(entry: Entry): Promise<ModelRunner> {
    if (entry.loading) return entry.loading;
    const others = [...this.entries.values()].filter(
      (other) => other !== entry && (other.model || other.loading),
    );
    const excess = others.length + 1 - this.options.maxLoaded;
    if (excess > 0) {
      const idle = others
        .filter((other) => other.model && other.running === 0 && other.waiters.length === 0)
        .sort((a, b) => a.lastUsed - b.lastUsed);
      if (idle.length < excess) {
        return Promise.reject(
          new VmmError(
            ErrorCode.ResourceExhausted,
            `cannot load "${entry.name}": all ${this.options.maxLoaded} loaded models are busy`,
            { retryAfterMs: 1000 },
          ),
        );
      }
      for (const victim of idle.slice(0, excess)) void this.evict(victim);
    }
    entry.loading = this.options
      .open(entry.folder, entry.file)
      .then((model) => {
        entry.model = model;
        this.watch(entry, model);
        return model;
      })
      .finally(() => {
        entry.loading = undefined;
      });
    return entry.loading;
  }

  /**
   * A model whose thread dies (out of memory, a crash, a kill) is dropped at once: its running
   * requests have failed already, the other models keep serving, and the next request for it
   * loads it afresh.
   */
  private watch(entry: Entry, model: ModelRunner): void {
    const watchdog = this.options.watchdog;
    if (watchdog)
      model.runner.watch({
        intervalMs: watchdog.intervalMs,
        unresponsiveMs: watchdog.unresponsiveMs,
        runTimeoutMs: watchdog.runTimeoutMs,
        onStuckRun: (runMs) => watchdog.onStuckRun(entry.name, runMs),
      });
    model.runner.onExit((error) => {
      if (entry.model !== model) return; // evicted or replaced already
      entry.model = undefined;
      this.cancelExpiry(entry);
      if (entry.running === 0 && entry.waiters.length === 0 && this.entries.get(entry.name) === entry)
        this.entries.delete(entry.name);
      this.options.onLost?.(entry.name, error);
    });
  }

  private async evict(entry: Entry): Promise<void> {
    this.cancelExpiry(entry);
    entry.unloadWhenIdle = false;
    const model = entry.model;
    entry.model = undefined;
    // The folder may change on disk before the next load: inspect it again then.
    if (entry.running === 0 && entry.waiters.length === 0) this.entries.delete(entry.name);
    if (model) await model.runner.close();
  }
}
