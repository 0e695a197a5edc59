#!/usr/bin/env node
// A demo of `vmm pull` from a Hugging Face Hub repository, with no network: a local fake Hub
// (the one the tests use) serves a fixture model, throttled so the progress bars can be seen;
// a worker and a gateway pull from it; then `vmm run` answers with the pulled model.
//
//   npm run build && node scripts/demo-pull.mjs
//
// Run it on a terminal for the progress bars (one line per step otherwise).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { appMain, repoFromFolder, startFakeHub, startProcess, startWorkerProcess } from '@vmm/test-support';

const cli = fileURLToPath(new URL('../apps/cli/dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'vmm-demo-pull-'));
const models = join(work, 'models');
writeLlamaFolder(join(work, 'repo'), { preset: 'medium' });
const hub = await startFakeHub({ 'vmm-demo/llama-onnx': repoFromFolder(join(work, 'repo')) });
hub.throttle(Number(process.env.DEMO_BYTES_PER_SECOND ?? 8 * 1024 * 1024));
const worker = await startWorkerProcess(models, { HF_ENDPOINT: hub.url });
const gateway = await startProcess(
  appMain.gateway,
  {
    VMM_HTTP_HOST: '127.0.0.1',
    VMM_HTTP_PORT: '0',
    VMM_WORKERS: `cpu=127.0.0.1:${worker.port}`,
    VMM_DASHBOARD_DIR: 'off',
    // No batches in this demo: the gateway leaves the local Redis alone.
    REDIS_URL: 'redis://127.0.0.1:1',
  },
  /listening on (http:\/\/[\d.]+:\d+)/,
);
const host = gateway.match[1];

const vmm = (args) =>
  new Promise((resolve) => {
    console.log(`\n$ vmm ${args.join(' ')}`);
    spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...process.env, VMM_HOST: host } }).on(
      'exit',
      resolve,
    );
  });

let code = 0;
try {
  code ||= await vmm(['pull', 'hf.co/vmm-demo/llama-onnx']);
  code ||= await vmm(['ls']);
  code ||= await vmm(['run', 'hf.co/vmm-demo/llama-onnx', 'Once upon a time', '--verbose']);
} finally {
  await gateway.stop();
  await worker.stop();
  await hub.close();
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
