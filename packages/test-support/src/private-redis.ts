import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A redis-server of a test's own, on a free loopback port, that keeps nothing on disk. */
export interface PrivateRedis {
  /** redis://[:password@]127.0.0.1:PORT */
  url: string;
  port: number;
  /** SIGSTOP: the connection stays open and nothing answers (a hung, not a dead, Redis). */
  freeze(): void;
  /** SIGCONT: it answers again, queued commands first. */
  thaw(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}

/**
 * Starts Debian's `redis-server` (the one CI installs) on a port no other test or VMM uses;
 * resolves once it accepts connections, rejects with its output if it exits first or takes
 * longer than 20 s.
 */
export async function startPrivateRedis(options: { password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 20 s: ${output}`));
    }, 20_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run redis-server (apt-get install redis-server): ${error.message}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited: ${output}`));
    });
  });
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A frozen server takes no SIGTERM until it runs again.
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
