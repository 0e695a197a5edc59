import { readFileSync } from 'node:fs';
import { z } from 'zod';

const app = z.object({
  state: z.enum(['running', 'restarting', 'stopping']),
  pid: z.number().int().nullable(),
  restarts: z.number().int(),
  restart_limit: z.number().int(),
  last_exit: z.string().nullable(),
  since: z.string(),
  next_start: z.string().nullable(),
  address: z.string().nullable(),
});
const file = z.object({ apps: z.record(z.string(), app) });

export type SupervisedApp = z.infer<typeof app>;

/**
 * What the process supervisor (`vmm serve`) says of the apps it runs, read from the file it
 * keeps (VMM_SUPERVISOR_STATE) at each ask: a worker the gateway finds down may be restarting,
 * and `/readyz` and `/v1/workers` say so. Under Compose or Kubernetes there is no such file
 * (the orchestrator restarts, and says so itself): every answer is then empty.
 */
export class SupervisorView {
  constructor(private readonly path: string | undefined) {}

  apps(): Record<string, SupervisedApp> {
    if (!this.path) return {};
    try {
      const text = readFileSync(this.path, 'utf8');
      // The supervisor writes a few hundred bytes; anything much larger is not its file.
      if (text.length > 64 * 1024) return {};
      return file.parse(JSON.parse(text)).apps;
    } catch {
      return {};
    }
  }

  /** The supervised app serving at `address` (a worker's host:port) in `apps` (one read of the file). */
  static at(apps: Record<string, SupervisedApp>, address: string): SupervisedApp | undefined {
    return Object.values(apps).find((entry) => entry.address === address);
  }
}

/** One line for an error message: "restarting (restart 2 of 5 allowed, last exit SIGKILL)". */
export function describeSupervised(entry: SupervisedApp): string {
  if (entry.state !== 'restarting') return entry.state;
  return `being restarted by vmm serve (restart ${entry.restarts} of ${entry.restart_limit} allowed within a minute, last exit ${entry.last_exit ?? 'unknown'}${entry.next_start ? `, next start at ${entry.next_start}` : ''})`;
}
