#!/usr/bin/env node
// `npm start`: the embedded default on one machine. Builds what is not built, writes the demo
// models into VMM_MODELS_DIR (./models) on first start, then runs one CPU worker and the gateway
// as separate processes on loopback. Ctrl-C (or SIGTERM) stops both cleanly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const modelsDir = resolve(env.VMM_MODELS_DIR ?? join(root, 'models'));
const children = [];
let stopping = false;

function step(message) {
  console.log(`vmm: ${message}`);
}

function runOrExit(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`vmm: ${what} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

/** Starts an app and resolves with the port it prints once listening. */
function startApp(name, script, extraEnv, pattern) {
  return new Promise((resolvePort, reject) => {
    const child = spawn(process.execPath, [join(root, script)], {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let seen = '';
    const relay = (stream, out) =>
      stream.on('data', (data) => {
        const text = data.toString();
        seen += text;
        for (const line of text.split('\n')) if (line) out.write(`[${name}] ${line}\n`);
        const match = pattern.exec(seen);
        if (match) resolvePort(Number(match[1]));
      });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    child.on('exit', (code, signal) => {
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
      if (!stopping) {
        console.error(`vmm: ${name} stopped (${code ?? signal}); stopping everything`);
        void stop(1);
      }
    });
  });
}

/** Whether something answers a Redis PING at host:port, within a second. */
function answers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  const exits = children
    .filter((child) => child.exitCode === null && child.signalCode === null)
    .map(
      (child) =>
        new Promise((done) => {
          child.once('exit', done);
          child.kill('SIGTERM');
        }),
    );
  await Promise.all(exits);
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));
// `npm start` runs this script under npm (and a shell): when that parent dies without passing
// a signal on, this process is handed to another parent. Then stop, and take the apps along,
// rather than leave them listening with nobody to stop them.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    console.error('vmm: the parent process went away; stopping everything');
    void stop(0);
  }
}, 500).unref();

// VMM_SKIP_BUILD=1: the caller built already (the test of this script runs inside turbo's build graph).
if (env.VMM_SKIP_BUILD !== '1') {
  step('building (turbo; cached after the first time)');
  runOrExit(
    join(root, 'node_modules/.bin/turbo'),
    ['run', 'build', '--output-logs=errors-only'],
    'the build',
  );
}

if (!existsSync(modelsDir) || readdirSync(modelsDir).length === 0) {
  step(`writing the demo models into ${modelsDir}`);
  runOrExit(
    process.execPath,
    [join(root, 'packages/model-fixtures/dist/cli.js'), 'demo', '--out', modelsDir],
    'writing the demo models',
  );
}

try {
  const grpcPort = await startApp(
    'worker',
    'apps/worker/dist/main.js',
    {
      VMM_MODELS_DIR: modelsDir,
      VMM_GRPC_HOST: '127.0.0.1',
      VMM_GRPC_PORT: env.VMM_GRPC_PORT ?? '50051',
      VMM_BACKEND: env.VMM_BACKEND ?? 'cpu',
    },
    /vmm-worker listening on [\d.]+:(\d+)/,
  );
  const httpPort = await startApp(
    'gateway',
    'apps/gateway/dist/main.js',
    {
      VMM_WORKERS: `${env.VMM_BACKEND ?? 'cpu'}=127.0.0.1:${grpcPort}`,
      VMM_HTTP_PORT: env.VMM_HTTP_PORT ?? '8080',
    },
    /vmm-gateway listening on http:\/\/[^:]+:(\d+)/,
  );
  // The batch runner joins when Redis answers; without it the batch routes answer 503.
  const redisUrl = new URL(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (await answers(redisUrl.hostname, Number(redisUrl.port || 6379))) {
    await startApp(
      'batch-runner',
      'apps/batch-runner/dist/main.js',
      { VMM_WORKERS: `${env.VMM_BACKEND ?? 'cpu'}=127.0.0.1:${grpcPort}`, REDIS_URL: redisUrl.href },
      /vmm-batch-runner (running)/,
    );
  } else {
    // Never print a password from REDIS_URL.
    const shown = new URL(redisUrl.href);
    if (shown.username) shown.username = '***';
    if (shown.password) shown.password = '***';
    step(`Redis does not answer at ${shown.href}: running without batch jobs`);
  }
  const url = `http://localhost:${httpPort}`;
  console.log(`\nVMM is ready on ${url} (models in ${modelsDir})`);
  console.log(`  curl ${url}/api/generate -d '{"model":"tiny-llama","prompt":"Why is the sky blue?"}'`);
  console.log(`  curl ${url}/api/tags    ·    ${url}/openapi.json    ·    Ctrl-C stops everything\n`);
} catch (error) {
  console.error(`vmm: ${error.message}`);
  await stop(1);
}
