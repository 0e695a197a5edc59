import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What `vmm serve` says of one app it supervises (the gateway shows it). */
export interface SupervisedApp {
  state: 'running' | 'restarting' | 'stopping';
  pid: number | null;
  /** Restarts within the crash-loop window, and the limit (VMM_RESTART_LIMIT). */
  restarts: number;
  restart_limit: number;
  /** How it last stopped: an exit code or a signal name. */
  last_exit: string | null;
  /** When it entered this state, and (restarting) when it starts again; ISO 8601. */
  since: string;
  next_start: string | null;
  /** host:port where the app serves, for the gateway to match with its workers. */
  address: string | null;
}

/**
 * The supervisor's view of its apps, written to a file the gateway reads (VMM_SUPERVISOR_STATE)
 * whenever it changes: `/readyz` and `/v1/workers` then say a worker is being restarted rather
 * than only that it is down. Written under a temporary name and renamed, so the gateway never
 * reads half a file; removed when vmm serve ends.
 */
export class SupervisorState {
  readonly path: string;
  private readonly dir: string;
  private readonly apps: Record<string, SupervisedApp> = {};
  private removed = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'vmm-serve-'));
    this.path = join(this.dir, 'supervisor.json');
    this.write();
  }

  set(name: string, change: Partial<SupervisedApp>): void {
    // An app that becomes ready while vmm serve stops has nothing left to tell.
    if (this.removed) return;
    const current: SupervisedApp = this.apps[name] ?? {
      state: 'running',
      pid: null,
      restarts: 0,
      restart_limit: 0,
      last_exit: null,
      since: new Date().toISOString(),
      next_start: null,
      address: null,
    };
    const next = { ...current, ...change };
    if (change.state !== undefined && change.state !== current.state) next.since = new Date().toISOString();
    this.apps[name] = next;
    this.write();
  }

  private write(): void {
    const partial = `${this.path}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify({ supervisor: 'vmm serve', pid: process.pid, apps: this.apps }));
    renameSync(partial, this.path);
  }

  remove(): void {
    this.removed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
