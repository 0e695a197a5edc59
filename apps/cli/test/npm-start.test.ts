// `npm start` (scripts/start.mjs: build, then `vmm serve`): demo models on first start, worker +
// gateway as processes, a streamed /api/generate answered; every way it is stopped (Ctrl-C,
// SIGTERM, SIGHUP, its parent dying) stops the apps too, none left listening.
import { afterAll, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDemoModels, writeLlamaFolder } from '@vmm/model-fixtures';
import { removeRedisPrefix, startPrivateRedis, waitFor } from '@vmm/test-support';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const modelsDir = join(mkdtempSync(join(tmpdir(), 'vmm-start-')), 'models');
const batchPrefix = `vmm-start-test-${process.pid}`;
afterAll(async () => {
  rmSync(join(modelsDir, '..'), { recursive: true, force: true });
  await removeRedisPrefix(batchPrefix).catch(() => undefined);
});

interface Started {
  /** The process signalled to stop: start.mjs, or the shell that runs it. */
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Every process holding the output pipe (start.mjs and the apps) has gone. */
  outputClosed: Promise<void>;
  url: string;
  workerPort: number;
  output: () => string;
}

/** Runs start.mjs, directly or under a shell that waits for it (as npm's does). */
async function start(underShell: boolean, extraEnv: Record<string, string> = {}): Promise<Started> {
  const script = join(root, 'scripts/start.mjs');
  const env = {
    PATH: process.env.PATH,
    VMM_SKIP_BUILD: '1',
    VMM_MODELS_DIR: modelsDir,
    VMM_HTTP_PORT: '0',
    VMM_GRPC_PORT: '0',
    VMM_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    // Redis answers on the development machines and in CI: the batch runner joins, on keys of its own.
    VMM_BATCH_PREFIX: batchPrefix,
    ...extraEnv,
  };
  const child = underShell
    ? spawn('sh', ['-c', `"${process.execPath}" "${script}"; echo "start.mjs exited $?"`], {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const outputClosed = new Promise<void>((resolve) => child.stdout?.on('close', () => resolve()));
  let output = '';
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const match =
        /vmm-worker listening on [\d.]+:(\d+)[\s\S]*VMM is ready on (http:\/\/localhost:\d+)/.exec(output);
      if (match) resolve(match);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`npm start exited ${code}: ${output}`)));
  });
  return {
    child,
    exited,
    outputClosed,
    url: ready[2] as string,
    workerPort: Number(ready[1]),
    output: () => output,
  };
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

async function expectAllStopped(started: Started): Promise<void> {
  const gatewayPort = Number(new URL(started.url).port);
  await waitFor(
    'the gateway and the worker to stop listening',
    async () => {
      return !(await answers(gatewayPort)) && !(await answers(started.workerPort));
    },
    { timeoutMs: 20_000 },
  );
}

it('starts worker and gateway with demo models, streams /api/generate, serves the dashboard, and stops on SIGINT', async () => {
  const startedAt = Date.now();
  const started = await start(false);
  expect(existsSync(join(modelsDir, 'tiny-llama', 'onnx', 'model.onnx'))).toBe(true);
  expect(started.output()).toContain('[batch-runner] vmm-batch-runner running');
  // On a port other than 8080 the chat command it prints names the server.
  expect(started.output()).toContain(`chat       VMM_HOST=${started.url} npx vmm run tiny-llama`);

  const response = await fetch(`${started.url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'tiny-llama',
      prompt: 'Why is the sky blue?',
      options: { num_predict: 5 },
    }),
  });
  expect(response.headers.get('content-type')).toContain('application/x-ndjson');
  const reader = response.body!.getReader();
  const first = await reader.read();
  // The acceptance bound: a streamed answer within 60 s of `npm start` (it takes a few seconds).
  expect(Date.now() - startedAt).toBeLessThan(60_000);
  expect(JSON.parse(new TextDecoder().decode(first.value).split('\n')[0] ?? '{}')).toMatchObject({
    model: 'tiny-llama',
    done: false,
  });
  while (!(await reader.read()).done);

  // Opening the address shows the dashboard (built with everything else), the demo models behind it.
  const page = await fetch(`${started.url}/`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<title>VMM</title>');
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  expect((await fetch(`${started.url}${script}`)).status).toBe(200);
  const tags = (await (await fetch(`${started.url}/api/tags`)).json()) as { models: { name: string }[] };
  expect(tags.models.map((model) => model.name)).toEqual(
    expect.arrayContaining([
      'tiny-llama:latest',
      'yolov8n-squares:latest',
      'yolov8n-seg-squares:latest',
      'yolov8n-pose-squares:latest',
      'colour-classifier:latest',
      'mini-embed:latest',
      'qwen3-demo:latest',
      'smolvlm-demo:latest',
    ]),
  );

  started.child.kill('SIGINT');
  expect(await started.exited).toBe(0);
  await expectAllStopped(started);
});

it.each(['SIGTERM', 'SIGHUP'] as const)('stops everything on %s to itself', async (signal) => {
  const started = await start(false);
  started.child.kill(signal);
  expect(await started.exited).toBe(0);
  await expectAllStopped(started);
});

/** The grpc-status a bare (token-less) Models.List on the worker gets, over plain HTTP/2. */
function bareGrpcStatus(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/vmm.v1.Models/List',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    const take = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      session.close();
      resolve(status);
    });
    stream.on('error', reject);
    // One empty, uncompressed message: ListModelsRequest with no fields.
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

it('with API keys on, gives the worker a token of this start: its port refuses bare calls', async () => {
  const key = 'vmm-test-key-0123456789abcdef';
  const started = await start(false, { VMM_API_KEYS: key });
  try {
    expect(await bareGrpcStatus(started.workerPort)).toBe('16'); // UNAUTHENTICATED
    const tags = await fetch(`${started.url}/api/tags`, { headers: { authorization: `Bearer ${key}` } });
    expect(tags.status).toBe(200);
    expect(((await tags.json()) as { models: unknown[] }).models.length).toBeGreaterThan(0);
    expect(started.output()).not.toMatch(/VMM_WORKER_TOKEN=|Bearer /);
  } finally {
    started.child.kill('SIGTERM');
    await started.exited;
    await expectAllStopped(started);
  }
  // Without keys the worker answers on loopback as before (the gateway is open too).
  const open = await start(false);
  try {
    expect(await bareGrpcStatus(open.workerPort)).toBe('0');
  } finally {
    open.child.kill('SIGTERM');
    await open.exited;
    await expectAllStopped(open);
  }
});

it('stops everything when its parent dies without passing a signal on', async () => {
  const started = await start(true);
  started.child.kill('SIGKILL');
  await started.exited;
  await expectAllStopped(started);
  // The batch runner too (its queue keys are removed after the tests).
  await started.outputClosed;
});

/** A models folder of its own: the demo models and a larger text model, whose answers take seconds. */
function supervisedModels(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'vmm-supervise-')), 'models');
  writeDemoModels(dir);
  writeLlamaFolder(join(dir, 'heavy-llama'), { preset: 'medium' });
  return dir;
}

const workerPid = (output: string) =>
  Number([...output.matchAll(/vmm: worker running \(pid (\d+)\)/g)].at(-1)?.[1]);

const generate = (url: string, model: string, stream: boolean, tokens: number) =>
  fetch(`${url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: 'Once upon a time', stream, options: { num_predict: tokens } }),
  });

it('restarts a worker killed mid-stream: the stream ends with a clear error, and requests succeed again within 10 s', async () => {
  const dir = supervisedModels();
  const started = await start(false, { VMM_MODELS_DIR: dir });
  try {
    const first = workerPid(started.output());
    expect(first).toBeGreaterThan(0);
    const response = await generate(started.url, 'heavy-llama', true, 2000);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    process.kill(first, 'SIGKILL');
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += decoder.decode(chunk.value, { stream: true });
    // The stream's last line says what happened, in Ollama's shape, and that a retry may work.
    const last = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { error?: string };
    expect(last.error).toMatch(/the worker serving "heavy-llama" went away mid-answer .*retry the request/);

    // While vmm serve waits out its backoff (1 s at least), the gateway says what is happening.
    const restarting = await waitFor(
      '/v1/workers to show the worker being restarted',
      async () => {
        const { workers } = (await (await fetch(`${started.url}/v1/workers`)).json()) as {
          workers: { supervisor: { state: string; last_exit: string; restarts: number } | null }[];
        };
        return workers.find((worker) => worker.supervisor?.state === 'restarting')?.supervisor;
      },
      { timeoutMs: 5_000 },
    );
    expect(restarting).toMatchObject({ last_exit: 'SIGKILL', restarts: 1 });

    // Nobody touches anything: vmm serve starts the worker again, and the gateway finds it.
    await waitFor(
      'a generation to succeed after the worker was killed',
      async () => (await generate(started.url, 'tiny-llama', false, 2)).status === 200,
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    expect(started.output()).toMatch(/vmm: worker stopped \(SIGKILL\); restarting it in 1 s/);
    expect(started.output()).toContain('vmm: worker is running again');
    expect(workerPid(started.output())).not.toBe(first);
    const ready = (await (await fetch(`${started.url}/readyz`)).json()) as {
      supervised?: Record<string, string>;
    };
    expect(ready.supervised).toMatchObject({ worker: 'running', gateway: 'running' });
  } finally {
    started.child.kill('SIGTERM');
    await started.exited;
    await expectAllStopped(started);
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
  // A whole stack started, killed, restarted and stopped: on a busy machine more than the usual
  // 30 s in all, while each wait inside keeps its own bound (10 s for the restart).
}, 90_000);

it('gives up on a crash loop: past VMM_RESTART_LIMIT restarts in a minute it says so and stops everything', async () => {
  const started = await start(false, { VMM_RESTART_LIMIT: '1' });
  process.kill(workerPid(started.output()), 'SIGKILL');
  await waitFor(
    'the worker to be running again',
    () => started.output().includes('vmm: worker is running again'),
    {
      timeoutMs: 20_000,
    },
  );
  process.kill(workerPid(started.output()), 'SIGKILL');
  expect(await started.exited).not.toBe(0);
  expect(started.output()).toMatch(
    /vmm: worker stopped \(SIGKILL\); 2 stops within 60 s are more than VMM_RESTART_LIMIT \(1\) allows: stopping everything/,
  );
  await expectAllStopped(started);
});

it('logs in to a password-protected Redis with REDIS_URL’s credentials, and runs batches there', async () => {
  const redis = await startPrivateRedis({ password: 'a p@ss/word' });
  try {
    const started = await start(false, { REDIS_URL: redis.url });
    try {
      expect(started.output()).toContain('[batch-runner] vmm-batch-runner running');
      const created = await fetch(`${started.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/jsonl' },
        body: JSON.stringify({
          custom_id: 'one',
          method: 'POST',
          url: '/api/generate',
          body: { model: 'tiny-llama', prompt: 'hi', stream: false, options: { num_predict: 2 } },
        }),
      });
      expect(created.status).toBe(200);
      const { id } = (await created.json()) as { id: string };
      await waitFor(
        'the batch to complete',
        async () =>
          ((await (await fetch(`${started.url}/v1/batches/${id}`)).json()) as { status: string }).status ===
          'completed',
        { timeoutMs: 30_000 },
      );
      expect(started.output()).not.toContain('p@ss');
    } finally {
      started.child.kill('SIGTERM');
      await started.exited;
      await expectAllStopped(started);
    }
    // A wrong password: no batch runner, and the gateway refuses batches rather than keep them.
    const wrong = await start(false, { REDIS_URL: `redis://:wrong@127.0.0.1:${redis.port}` });
    try {
      expect(wrong.output()).toMatch(
        /Redis does not answer at redis:\/\/:\*\*\*@127.0.0.1:\d+ \(or refuses its credentials\): running without batch jobs/,
      );
      const refused = await fetch(`${wrong.url}/v1/batches`, { method: 'POST', body: '{}' });
      expect(refused.status).toBe(503);
    } finally {
      wrong.child.kill('SIGTERM');
      await wrong.exited;
      await expectAllStopped(wrong);
    }
  } finally {
    await redis.stop();
  }
});

it('kills an app that does not stop within its grace, so none is left behind', async () => {
  const started = await start(false, { VMM_SHUTDOWN_GRACE_MS: '500' });
  // A stopped process takes no SIGTERM (as a worker stuck in a loop ignores it).
  const worker = workerPid(started.output());
  process.kill(worker, 'SIGSTOP');
  started.child.kill('SIGTERM');
  await started.exited;
  expect(started.output()).toContain('vmm: worker did not stop within 5.5 s; killing it');
  await expectAllStopped(started);
  expect(() => process.kill(worker, 0)).toThrow();
});
