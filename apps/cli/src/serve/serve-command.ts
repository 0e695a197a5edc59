import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { CliError, ExitCode } from '../cli-error.js';

/** The clone this CLI was built in: `vmm serve` runs the apps built beside it (apps/<name>/dist). */
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * `vmm serve` (what `npm start` runs): the embedded default on one machine. Writes the demo
 * models into VMM_MODELS_DIR (./models) on first start, then runs one worker, the gateway and —
 * when Redis answers — the batch runner, as separate processes on loopback. Ctrl-C, SIGTERM,
 * SIGHUP, or the parent going away stop them all; one app stopping stops the rest.
 */
export function serveCommand(context: CliContext): Command {
  return new Command('serve')
    .description('Run VMM on this machine: a worker, the gateway (with the dashboard) and the batch runner')
    .action(() => serve(context));
}

interface App {
  child: ChildProcess;
  name: string;
}

async function serve(context: CliContext): Promise<void> {
  const env = context.config.environment;
  const say = (message: string) => context.stdout.write(`vmm: ${message}\n`);
  const modelsDir = resolve(env.VMM_MODELS_DIR ?? join(process.cwd(), 'models'));
  const backend = env.VMM_BACKEND ?? 'cpu';
  for (const app of ['worker', 'gateway', 'batch-runner'])
    if (!existsSync(join(root, `apps/${app}/dist/main.js`)))
      throw new CliError(ExitCode.Usage, `apps/${app} is not built: run \`npm run build\` in ${root}`);

  if (!existsSync(modelsDir) || readdirSync(modelsDir).length === 0) {
    say(`writing the demo models into ${modelsDir}`);
    const written = spawnSync(
      process.execPath,
      [join(root, 'packages/model-fixtures/dist/cli.js'), 'demo', '--out', modelsDir],
      { stdio: ['ignore', 'inherit', 'inherit'], env },
    );
    if (written.status !== 0) throw new CliError(ExitCode.ServerRefused, 'writing the demo models failed');
  }

  // With API keys on, the worker's gRPC port must not answer what the gateway would refuse:
  // a token for this start only, shared by the apps and never printed.
  const workerToken =
    env.VMM_WORKER_TOKEN ?? (env.VMM_API_KEYS ? randomBytes(32).toString('base64url') : undefined);
  const tokenEnv: Record<string, string> = workerToken ? { VMM_WORKER_TOKEN: workerToken } : {};

  const apps: App[] = [];
  let stopping = false;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolveDone) => (finished = resolveDone));
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      apps
        .filter(({ child }) => child.exitCode === null && child.signalCode === null)
        .map(({ child }) => new Promise((exited) => (child.once('exit', exited), child.kill('SIGTERM')))),
    );
    finished(code);
  };
  const onSignal = () => void stop(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // `npm start` runs this under npm (and a shell): when that parent dies without passing a signal
  // on, this process is handed to another parent. Then stop, and take the apps along, rather
  // than leave them listening with nobody to stop them.
  const parent = process.ppid;
  const orphanCheck = setInterval(() => {
    if (process.ppid !== parent) {
      context.stderr.write('vmm: the parent process went away; stopping everything\n');
      void stop(0);
    }
  }, 500);
  orphanCheck.unref();

  /** Starts an app and resolves with the first match of `ready` in what it prints. */
  const start = (name: string, extraEnv: Record<string, string>, ready: RegExp) =>
    new Promise<RegExpExecArray>((resolveReady, reject) => {
      const child = spawn(process.execPath, [join(root, `apps/${name}/dist/main.js`)], {
        env: { ...env, ...tokenEnv, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      apps.push({ child, name });
      let seen = '';
      const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) =>
        stream.on('data', (data: Buffer) => {
          const text = data.toString();
          seen += text;
          for (const line of text.split('\n')) if (line) out.write(`[${name}] ${line}\n`);
          const match = ready.exec(seen);
          if (match) resolveReady(match);
        });
      relay(child.stdout!, context.stdout);
      relay(child.stderr!, context.stderr);
      child.on('exit', (code, signal) => {
        reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
        if (!stopping) {
          context.stderr.write(`vmm: ${name} stopped (${code ?? signal}); stopping everything\n`);
          void stop(1);
        }
      });
    });

  try {
    const worker = await start(
      'worker',
      {
        VMM_MODELS_DIR: modelsDir,
        VMM_GRPC_HOST: '127.0.0.1',
        VMM_GRPC_PORT: env.VMM_GRPC_PORT ?? '50051',
        VMM_BACKEND: backend,
      },
      /vmm-worker listening on [\d.]+:(\d+)/,
    );
    const workers = `${backend}=127.0.0.1:${worker[1]}`;
    const gateway = await start(
      'gateway',
      { VMM_WORKERS: workers, VMM_HTTP_PORT: env.VMM_HTTP_PORT ?? '8080' },
      /vmm-gateway listening on http:\/\/[^:]+:(\d+)/,
    );
    const redisUrl = new URL(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    if (await answersPing(redisUrl.hostname, Number(redisUrl.port || 6379))) {
      await start(
        'batch-runner',
        { VMM_WORKERS: workers, REDIS_URL: redisUrl.href },
        /vmm-batch-runner (running)/,
      );
    } else {
      // Never print a password from REDIS_URL.
      const shown = new URL(redisUrl.href);
      if (shown.username) shown.username = '***';
      if (shown.password) shown.password = '***';
      say(`Redis does not answer at ${shown.href}: running without batch jobs`);
    }
    const url = `http://localhost:${gateway[1]}`;
    // The CLI looks for the server on port 8080 unless VMM_HOST says otherwise.
    const host = gateway[1] === '8080' ? '' : `VMM_HOST=${url} `;
    context.stdout.write(
      `\nVMM is ready on ${url} (models in ${modelsDir})\n` +
        `  dashboard  ${url}/\n` +
        `  chat       ${host}npx vmm run tiny-llama\n` +
        `  curl       curl ${url}/api/generate -d '{"model":"tiny-llama","prompt":"Why is the sky blue?"}'\n` +
        `  Ctrl-C stops everything\n\n`,
    );
  } catch (error) {
    context.stderr.write(`vmm: ${error instanceof Error ? error.message : String(error)}\n`);
    await stop(1);
  }
  const code = await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  clearInterval(orphanCheck);
  if (code !== 0) throw new CliError(ExitCode.ServerRefused, 'VMM stopped');
}

/** Whether something answers a Redis PING at host:port, within a second. */
function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect({ host, port });
    const end = (ok: boolean) => {
      socket.destroy();
      resolveAnswer(ok);
    };
    socket.setTimeout(1000, () => end(false));
    socket.on('error', () => end(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => end(data.toString().startsWith('+PONG')));
  });
}
