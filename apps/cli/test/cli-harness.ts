// What the CLI's tests share: a real worker and gateway (processes on loopback) and `vmm` run as
// a user runs it, in its own process, with its output and exit code.
import { expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { appMain, startProcess, type StartedProcess, startWorkerProcess, waitFor } from '@vmm/test-support';

export const bin = fileURLToPath(new URL('../bin/vmm.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Server {
  url: string;
  worker: StartedProcess & { port: number };
  gateway: StartedProcess;
  stop(): Promise<void>;
}

/** A gateway in front of its own worker process; `gatewayEnv` adds settings (VMM_API_KEYS …). */
export async function startServer(
  models: string,
  prefix: string,
  gatewayEnv: Record<string, string> = {},
): Promise<Server> {
  const worker = await startWorkerProcess(models);
  const gateway = await startGateway(worker.port, prefix, gatewayEnv);
  const url = `http://127.0.0.1:${gateway.match[1]}`;
  const headers: Record<string, string> = gatewayEnv.VMM_API_KEYS
    ? { authorization: `Bearer ${gatewayEnv.VMM_API_KEYS.split(',')[0]}` }
    : {};
  await waitFor('the gateway to see its worker', async () => (await fetch(`${url}/readyz`, { headers })).ok, {
    timeoutMs: 30_000,
  });
  return {
    url,
    worker,
    gateway,
    async stop() {
      await gateway.stop();
      await worker.stop();
    },
  };
}

export function startGateway(
  workerPort: number,
  prefix: string,
  env: Record<string, string> = {},
): Promise<StartedProcess> {
  return startProcess(
    appMain.gateway,
    {
      VMM_WORKERS: `cpu=127.0.0.1:${workerPort}`,
      VMM_HTTP_PORT: '0',
      VMM_BATCH_PREFIX: prefix,
      LOG_LEVEL: 'fatal',
      ...env,
    },
    /listening on http:\/\/[^:]+:(\d+)/,
  );
}

/** `vmm` arguments written as one line (none of them has a space). */
export const words = (line: string) => line.split(' ');

/** Runs `vmm …` to its end (killed, with its output in the failure, after `timeoutMs`). */
export function vmm(
  args: string[],
  env: Record<string, string>,
  { timeoutMs = 60_000, stdin }: { timeoutMs?: number; stdin?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vmm ${args.join(' ')} ran past ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The run failed as a usage error: exit 2, nothing on stdout, one `vmm:` line matching `message`. */
export function expectUsageError(run: Run, message: RegExp): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^vmm: /);
  expect(run.stderr).toMatch(message);
}

/** A port that was free a moment ago: nothing listens there. */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
