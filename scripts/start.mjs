#!/usr/bin/env node
// `npm start`: builds what is not built (turbo; cached after the first time), then runs
// `vmm serve` in this process — the demo models on first start, one CPU worker, the gateway with
// the dashboard and (when Redis answers) the batch runner. Ctrl-C stops everything.
import { spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// VMM_SKIP_BUILD=1: the caller built already (the test of this script runs inside turbo's build graph).
if (process.env.VMM_SKIP_BUILD !== '1') {
  console.log('vmm: building (turbo; cached after the first time)');
  const built = spawnSync(
    join(root, 'node_modules/.bin/turbo'),
    ['run', 'build', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (built.status !== 0) {
    console.error(`vmm: the build failed (exit ${built.status ?? built.signal})`);
    process.exit(1);
  }
}
process.argv.splice(2, process.argv.length, 'serve');
await import(join(root, 'apps/cli/dist/main.js'));
