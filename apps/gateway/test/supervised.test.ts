// Under vmm serve, /readyz and /v1/workers say what the supervisor is doing with a worker that
// is down (issue 28, point 1): read from the state file it keeps (VMM_SUPERVISOR_STATE).
import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayConfig, useGateway } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vmm-supervised-'));
const stateFile = join(dir, 'supervisor.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A worker address nothing listens on (port 1): the gateway finds it down.
const address = '127.0.0.1:1';
const entry = (state: string) => ({
  state,
  pid: null,
  restarts: 2,
  restart_limit: 5,
  last_exit: 'SIGKILL',
  since: '2026-12-06T00:00:00.000Z',
  next_start: '2026-12-06T00:00:02.000Z',
  address,
});
const write = (apps: Record<string, unknown>) => writeFileSync(stateFile, JSON.stringify({ apps }));

write({ worker: entry('restarting'), gateway: { ...entry('running'), address: null } });
const gateway = useGateway(
  () => ({ ...gatewayConfig([{ backend: 'cpu', port: 1 }]), supervisorState: stateFile }),
  { waitForWorkers: false },
);

it('says in /readyz that the worker is being restarted, and when it starts again', async () => {
  const response = await fetch(`${gateway.url}/readyz`);
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  const body = (await response.json()) as { error: { message: string } };
  expect(body.error.message).toBe(
    `no worker is serving: the cpu worker at ${address} is being restarted by vmm serve (restart 2 of 5 allowed within a minute, last exit SIGKILL, next start at 2026-12-06T00:00:02.000Z)`,
  );
});

it('shows the supervisor’s view of each worker in /v1/workers', async () => {
  const { workers } = (await (await fetch(`${gateway.url}/v1/workers`)).json()) as {
    workers: { address: string; up: boolean; supervisor: unknown }[];
  };
  expect(workers).toEqual([expect.objectContaining({ address, up: false, supervisor: entry('restarting') })]);
});

it('says only that no worker serves when the file is gone or not the supervisor’s', async () => {
  writeFileSync(stateFile, '{"apps": {"worker": {"state": "exploded"}}}');
  expect(await (await fetch(`${gateway.url}/readyz`)).json()).toMatchObject({
    error: { message: 'no worker is serving' },
  });
  rmSync(stateFile);
  const { workers } = (await (await fetch(`${gateway.url}/v1/workers`)).json()) as {
    workers: { supervisor: unknown }[];
  };
  expect(workers[0]?.supervisor).toBeNull();
});
