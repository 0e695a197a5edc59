// `npm start` (scripts/start.mjs): demo models on first start, worker + gateway as processes,
// a streamed /api/generate answered, Ctrl-C stopping everything.
import { afterAll, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeRedisPrefix } from '@vmm/test-support';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const modelsDir = join(mkdtempSync(join(tmpdir(), 'vmm-start-')), 'models');
const batchPrefix = `vmm-start-test-${process.pid}`;
afterAll(async () => {
  rmSync(join(modelsDir, '..'), { recursive: true, force: true });
  await removeRedisPrefix(batchPrefix).catch(() => undefined);
});

it('starts worker and gateway with demo models, streams /api/generate, and stops on SIGINT', async () => {
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      VMM_SKIP_BUILD: '1',
      VMM_MODELS_DIR: modelsDir,
      VMM_HTTP_PORT: '0',
      VMM_GRPC_PORT: '0',
      VMM_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // Redis answers on the development machines and in CI: the batch runner joins, on keys of its own.
      VMM_BATCH_PREFIX: batchPrefix,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = /VMM is ready on (http:\/\/localhost:\d+)/.exec(output);
      if (match) resolve(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`npm start exited ${code}: ${output}`)));
  });
  expect(existsSync(join(modelsDir, 'tiny-llama', 'onnx', 'model.onnx'))).toBe(true);
  expect(output).toContain('[batch-runner] vmm-batch-runner running');

  const response = await fetch(`${url}/api/generate`, {
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
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(JSON.parse(new TextDecoder().decode(first.value).split('\n')[0] ?? '{}')).toMatchObject({
    model: 'tiny-llama',
    done: false,
  });
  while (!(await reader.read()).done);

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  await expect(fetch(`${url}/healthz`)).rejects.toThrow();
});
