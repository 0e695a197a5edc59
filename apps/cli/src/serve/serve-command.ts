import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { SupervisorState } from './supervisor-state.js';
import { CliError, ExitCode } from '../cli-error.js';

/** The clone this CLI was built in: `vmm serve` runs the apps built beside it (apps/<name>/dist). */
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * V8 flags per app. The worker starts with its young generation at the size V8 grows it to under
 * token streaming anyway (16 MiB semi-spaces): its resident memory is then flat from the first
 * requests instead of rising by tens of MiB over the first thousands (bench/llm-memory), and
 * scavenges are fewer. The Dockerfiles and the worker's own `npm start` pass the same flag.
 */
const nodeFlags: Readonly<Record<string, readonly string[]>> = { worker: ['--min-semi-space-size=16'] };

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
  // Apps that die are restarted; past this many restarts of one app within a minute, vmm serve
  // gives up (0: never restart, as before supervision).
  const restartLimit = Number(env.VMM_RESTART_LIMIT ?? '5');
  if (!Number.isInteger(restartLimit) || restartLimit < 0 || restartLimit > 100)
    throw new CliError(
      ExitCode.Usage,
      `VMM_RESTART_LIMIT must be a whole number from 0 to 100, got "${env.VMM_RESTART_LIMIT}"`,
    );
  const restartWindowMs = 60_000;
  // SIGTERM, then SIGKILL once an app has had its shutdown grace (the gateway's 30 s by default)
  // and a little more.
  const graceMs = Number(env.VMM_SHUTDOWN_GRACE_MS ?? '30000');
  const killAfterMs = (Number.isFinite(graceMs) && graceMs >= 0 ? graceMs : 30_000) + 5_000;
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
  const restartTimers = new Set<NodeJS.Timeout>();
  // What each app is doing, for the gateway to show (/readyz, /v1/workers).
  const supervised = new SupervisorState();
  const stateEnv = { VMM_SUPERVISOR_STATE: supervised.path };
  let stopping = false;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolveDone) => (finished = resolveDone));
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    for (const { name } of apps) supervised.set(name, { state: 'stopping' });
    await Promise.all(
      apps
        .filter(({ child }) => child.exitCode === null && child.signalCode === null)
        .map(
          ({ child, name }) =>
            new Promise<void>((exited) => {
              // An app that outlives its own shutdown grace (stuck, or stopped) is killed: none
              // is left running, orphaned, after vmm serve has gone.
              const kill = setTimeout(() => {
                context.stderr.write(
                  `vmm: ${name} did not stop within ${killAfterMs / 1000} s; killing it\n`,
                );
                child.kill('SIGKILL');
              }, killAfterMs);
              child.once('exit', () => {
                clearTimeout(kill);
                exited();
              });
              child.kill('SIGTERM');
            }),
        ),
    );
    supervised.remove();
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

  /**
   * Starts an app and resolves with the first match of `ready` in what it prints; rejects if it
   * exits first. `crashed` hears of an exit after that (one not asked for by `stop`).
   */
  const launch = (
    name: string,
    extraEnv: Record<string, string>,
    ready: RegExp,
    crashed: (why: string) => void,
  ) =>
    new Promise<RegExpExecArray>((resolveReady, reject) => {
      const child = spawn(
        process.execPath,
        [...(nodeFlags[name] ?? []), join(root, `apps/${name}/dist/main.js`)],
        {
          env: { ...env, ...tokenEnv, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const app = { child, name };
      apps.push(app);
      let seen = '';
      let isReady = false;
      const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream) =>
        stream.on('data', (data: Buffer) => {
          const text = data.toString();
          for (const line of text.split('\n')) if (line) out.write(`[${name}] ${line}\n`);
          if (isReady) return;
          seen += text;
          const match = ready.exec(seen);
          if (match) {
            isReady = true;
            // The pid, for an operator (and a test) that must signal one app alone.
            say(`${name} running (pid ${child.pid})`);
            supervised.set(name, { state: 'running', pid: child.pid ?? null, next_start: null });
            resolveReady(match);
          }
        });
      relay(child.stdout!, context.stdout);
      relay(child.stderr!, context.stderr);
      child.on('exit', (code, signal) => {
        const at = apps.indexOf(app);
        if (at >= 0) apps.splice(at, 1);
        const why = String(code ?? signal);
        if (!isReady) reject(new Error(`${name} exited (${why}) before it was ready`));
        else if (!stopping) crashed(why);
      });
    });

  /**
   * Starts an app and keeps it running, as a process supervisor does: one that dies is started
   * again (on the ports it had, so the others find it) after a backoff that doubles with each
   * recent restart (1 s, 2 s, 4 s … 30 s at most). More than `restartLimit` restarts within
   * `restartWindowMs` is a crash loop: said, and everything stops (exit 1), rather than spin.
   */
  const start = async (
    name: string,
    extraEnv: Record<string, string>,
    ready: RegExp,
    pin: (match: RegExpExecArray) => Record<string, string> = () => ({}),
    address: (match: RegExpExecArray) => string | null = () => null,
  ): Promise<RegExpExecArray> => {
    const recent: number[] = [];
    let restartEnv = extraEnv;
    const crashed = (why: string) => {
      if (stopping) return;
      const now = Date.now();
      recent.push(now);
      while ((recent[0] ?? now) < now - restartWindowMs) recent.shift();
      if (recent.length > restartLimit) {
        context.stderr.write(
          `vmm: ${name} stopped (${why}); ${recent.length} stops within ${restartWindowMs / 1000} s are more than VMM_RESTART_LIMIT (${restartLimit}) allows: stopping everything\n`,
        );
        void stop(1);
        return;
      }
      const delayMs = Math.min(1000 * 2 ** (recent.length - 1), 30_000);
      supervised.set(name, {
        state: 'restarting',
        pid: null,
        restarts: recent.length,
        restart_limit: restartLimit,
        last_exit: why,
        next_start: new Date(now + delayMs).toISOString(),
      });
      context.stderr.write(
        `vmm: ${name} stopped (${why}); restarting it in ${delayMs / 1000} s (restart ${recent.length} of ${restartLimit} allowed within ${restartWindowMs / 1000} s)\n`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (stopping) return;
        launch(name, restartEnv, ready, crashed).then(
          () => say(`${name} is running again`),
          (error: unknown) => crashed(error instanceof Error ? error.message : String(error)),
        );
      }, delayMs);
      restartTimers.add(timer);
    };
    const match = await launch(name, extraEnv, ready, crashed);
    restartEnv = { ...extraEnv, ...pin(match) };
    supervised.set(name, { restart_limit: restartLimit, address: address(match) });
    return match;
  };

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
      // Restarted on the port it took (VMM_GRPC_PORT=0 picks one): the gateway knows that one.
      (match) => ({ VMM_GRPC_PORT: match[1] as string }),
      (match) => `127.0.0.1:${match[1]}`,
    );
    const workers = `${backend}=127.0.0.1:${worker[1]}`;
    const gateway = await start(
      'gateway',
      { VMM_WORKERS: workers, VMM_HTTP_PORT: env.VMM_HTTP_PORT ?? '8080', ...stateEnv },
      /vmm-gateway listening on http:\/\/[^:]+:(\d+)/,
      (match) => ({ VMM_HTTP_PORT: match[1] as string }),
    );
    const redisUrl = new URL(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    if (await answersPing(redisUrl)) {
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
      say(`Redis does not answer at ${shown.href} (or refuses its credentials): running without batch jobs`);
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

/**
 * Whether Redis at `url` answers a PING within a second, logged in with the URL's credentials
 * when it has some (a password-protected Redis answers NOAUTH to a bare PING).
 */
function answersPing(url: URL): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
    let answer = '';
    const end = (ok: boolean) => {
      socket.destroy();
      resolveAnswer(ok);
    };
    socket.setTimeout(1000, () => end(false));
    socket.on('error', () => end(false));
    socket.on('connect', () => {
      const password = decodeURIComponent(url.password);
      const user = decodeURIComponent(url.username);
      const auth = password ? (user ? ['AUTH', user, password] : ['AUTH', password]) : undefined;
      // RESP arrays: any byte may be in a password.
      const command = (parts: string[]) =>
        `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
      socket.write((auth ? command(auth) : '') + command(['PING']));
    });
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.startsWith('-')) end(false);
      else if (answer.includes('+PONG')) end(true);
    });
  });
}
